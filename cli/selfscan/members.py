"""Archive members one at a time: what kind a member is, whether it is safe to read, and
reading it within limits.

Every limit here is a defence against hostile archives: a member may not be larger than its
kind allows, expand more than ``MAX_RATIO`` times, or make its archive expand past a budget
proportional to the archive's own size; names that could escape a folder, links, devices and
encrypted members are refused with a reason.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
from typing import IO

from .errors import FileError, short_reason
from .names import IMAGE_EXTENSIONS, MAX_JSON_BYTES, VIDEO_EXTENSIONS, is_archive_name

MAX_IMAGE_MEMBER = 256 * 1024 * 1024
MAX_VIDEO_MEMBER = 2 * 1024 * 1024 * 1024
MAX_INNER_ARCHIVE = 512 * 1024 * 1024  # an archive inside an archive is read into memory
MAX_RATIO = 200  # members over RATIO_FLOOR bytes may not expand more than this
RATIO_FLOOR = 1024 * 1024
# One archive may not expand to more than BUDGET_FACTOR times its own size (at least
# MIN_BUDGET bytes), whatever its headers declare.
BUDGET_FACTOR = 100
MIN_BUDGET = 1024 * 1024 * 1024

ENCRYPTED = "encrypted member: selfscan cannot read password-protected archives"
BAD_NAME = (
    "a member's name is not UTF-8, though the zip says it is: the zip cannot be listed (extract "
    "it with another tool and scan the folder)"
)
TOO_DEEP = "nested archive too deep: selfscan opens archives inside archives one level deep"
ZIP_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
CHUNK = 1024 * 1024


class Budget:
    """Bytes one archive may still expand to; reading past it is an error."""

    def __init__(self, compressed_size: int) -> None:
        self.total = max(MIN_BUDGET, BUDGET_FACTOR * compressed_size)
        self.left = self.total

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise FileError(
                f"archive expands to more than {mib(self.total)} "
                f"({BUDGET_FACTOR}x its size): possible zip bomb"
            )


def mib(n: int) -> str:
    """``n`` bytes in whole MiB, for messages."""
    return f"{n / (1024 * 1024):.0f} MiB"


def read_capped(
    fh: IO[bytes],
    cap: int,
    budget: Budget | None = None,
    too_big: str = "member expands past the {limit} limit: possible zip bomb",
) -> bytes:
    """At most ``cap`` bytes from ``fh``, whatever the archive declared (and taken from
    ``budget`` when given); more is a ``FileError`` saying ``too_big``."""
    chunks: list[bytes] = []
    got = 0
    while True:
        chunk = fh.read(min(CHUNK, cap + 1 - got))
        if not chunk:
            return b"".join(chunks)
        got += len(chunk)
        if budget is not None:
            budget.take(len(chunk))
        if got > cap:
            raise FileError(too_big.format(limit=mib(cap)))
        chunks.append(chunk)


def cap_for(what: str) -> int:
    """The most bytes a member of kind ``what`` may expand to."""
    if what == "video":
        return MAX_VIDEO_MEMBER
    if what == "archive":
        return MAX_INNER_ARCHIVE
    if what == "json":
        return MAX_JSON_BYTES
    return MAX_IMAGE_MEMBER


class Occurrences:
    """Each member's name in its item's path. An archive may hold several members of one name
    (a tar appended to, a zip written twice): the first keeps its name, the later ones are
    ``NAME#2``, ``NAME#3``…, so that each has its own path, index row and result. A name that
    itself ends in ``#`` and digits is given ``#1`` (``IMG#2`` is ``IMG#2#1``, its second
    ``IMG#2#2``), so that no path stands for two members. Count every member that is not a
    folder, in archive order, wherever the paths are made or resolved."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def key(self, name: str) -> str:
        n = self.seen[name] = self.seen.get(name, 0) + 1
        return name if n == 1 and not _NUMBERED.search(name) else f"{name}#{n}"


_NUMBERED = re.compile(r"#[0-9]+$")


def repeated_name(key: str) -> str:
    """The member name in a path made by ``Occurrences``: ``IMG_1.jpg#2`` is ``IMG_1.jpg``."""
    return _NUMBERED.sub("", key)


def unsafe_name(name: str) -> str | None:
    """Why a member name could escape an extraction folder, or None."""
    if name.startswith(("/", "\\")) or name[1:2] == ":":
        return f"unsafe member name (absolute path): {name}"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        return f"unsafe member name (path traversal): {name}"
    return None


def norm_name(name: str) -> str:
    """A member name with forward slashes and no leading ``./``."""
    if "\\" in name:
        name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def classify(name: str) -> str:
    """``skip``, ``image``, ``video``, ``archive``, ``json``, ``html``, ``other``, or
    ``unnamed`` (no extension: the member's first bytes decide) for a member name."""
    path = "/" + norm_name(name)
    if "/." in path or "/__MACOSX/" in path:
        return "skip"
    base = path[path.rfind("/") + 1 :].lower()
    dot = base.rfind(".")
    ext = base[dot:] if dot > 0 else ""
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext == ".json":
        return "json"
    if ext in (".html", ".htm"):  # only to tell an export in HTML format
        return "html"
    if is_archive_name(base):
        return "archive"
    return "other" if ext else "unnamed"  # without an extension: its first bytes will tell


def member_error(exc: BaseException) -> str:
    """The reason, in a user's words, for an exception raised while reading a member."""
    text = short_reason(exc)
    if isinstance(exc, RuntimeError) and "encrypted" in text:
        return ENCRYPTED
    if "CRC" in text:
        return "corrupt archive member: bad CRC-32 checksum"
    if isinstance(exc, NotImplementedError):
        return f"unsupported compression method: {text}"
    if isinstance(exc, EOFError):
        return "truncated archive member"
    return f"corrupt archive member: {text}"


def zip_problem(info: zipfile.ZipInfo, cap: int, shared_offsets: set[int]) -> str | None:
    """Why a zip member must not be read (its header is enough to tell), or None."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"symbolic link member (not followed): {info.filename}"
    if info.flag_bits & 0x1:
        return ENCRYPTED
    if info.compress_type not in ZIP_METHODS:
        return f"unsupported compression method {info.compress_type} (re-create the zip)"
    if info.file_size > cap:
        return f"member is {mib(info.file_size)} uncompressed, over the {mib(cap)} limit"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        return f"compression ratio {ratio:.0f}:1 is over {MAX_RATIO}:1: possible zip bomb"
    if info.header_offset in shared_offsets:
        return "member overlaps another member: possible zip bomb"
    return None


def tar_problem(member: tarfile.TarInfo) -> str | None:
    """Why a tar member is not a file selfscan reads (a link or device), or None."""
    if member.issym():
        return f"symbolic link member (not followed): {member.name} -> {member.linkname}"
    if member.islnk():
        return f"hard link member (not followed): {member.name} -> {member.linkname}"
    if member.isdev():
        return f"device or special file member: {member.name}"
    return None


def tar_stamp(path: str) -> str | None:
    """A tar member's stamp: its archive's identity (inode, ctime, size, mtime). A tar lists no
    checksum per member, so any change to the archive makes its members' contents be compared
    with what the index holds (see ``reuse``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"tar:{st.st_ino}:{st.st_ctime_ns}:{st.st_size}:{st.st_mtime_ns}"
