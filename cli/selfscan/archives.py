"""Read archives in place: zip, tar, tar.gz/tgz, split exports, one level of nesting.

Members are listed from the archive and their bytes are read only when the consumer calls
``Item.read()``; nothing is ever extracted to disk. Hostile content (path traversal or absolute
names, links and devices, zip bombs, encrypted or corrupt members) becomes error items with a
reason. A zip's listing is its central directory and its JSON members are read when needed; a tar
cannot seek, so it is read twice: once for its JSON members, once for its photos.
"""

from __future__ import annotations

import calendar
import functools
import io
import os
import re
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import FileError
from .exports import ExportIndex, empty_source
from .names import (
    IMAGE_EXTENSIONS,
    MAX_JSON_BYTES,
    SNIFF_BYTES,
    VIDEO_EXTENSIONS,
    is_archive_name,
    sniff,
)
from .types import Item

_SPLIT_PART = re.compile(
    r"^(?P<stem>.+)-(?P<part>\d{3})(?P<ext>\.zip|\.tgz|\.tar\.gz|\.tar)$", re.I
)


@dataclass(frozen=True)
class ArchiveEntry:
    path: str
    size: int
    mtime_ns: int
    fmt: str


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
TOO_DEEP = "nested archive too deep: selfscan opens archives inside archives one level deep"
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2})
_ZIP_METHODS = _ZIP_METHODS | {zipfile.ZIP_LZMA}
_CHUNK = 1024 * 1024


class _Budget:
    """Bytes one archive may still expand to; reading past it is an error."""

    def __init__(self, compressed_size: int) -> None:
        self.total = max(MIN_BUDGET, BUDGET_FACTOR * compressed_size)
        self.left = self.total

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise FileError(
                f"archive expands to more than {_mib(self.total)} "
                f"({BUDGET_FACTOR}x its size): possible zip bomb"
            )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB"


def read_capped(
    fh: IO[bytes],
    cap: int,
    budget: _Budget | None = None,
    too_big: str = "member expands past the {limit} limit: possible zip bomb",
) -> bytes:
    """At most ``cap`` bytes from ``fh``, whatever the archive declared (and taken from
    ``budget`` when given); more is a ``FileError`` saying ``too_big``."""
    chunks: list[bytes] = []
    got = 0
    while True:
        chunk = fh.read(min(_CHUNK, cap + 1 - got))
        if not chunk:
            return b"".join(chunks)
        got += len(chunk)
        if budget is not None:
            budget.take(len(chunk))
        if got > cap:
            raise FileError(too_big.format(limit=_mib(cap)))
        chunks.append(chunk)


def _cap(what: str) -> int:
    if what == "video":
        return MAX_VIDEO_MEMBER
    if what == "archive":
        return MAX_INNER_ARCHIVE
    if what == "json":
        return MAX_JSON_BYTES
    return MAX_IMAGE_MEMBER


def _unsafe(name: str) -> str | None:
    """Why a member name could escape an extraction folder, or None."""
    if name.startswith(("/", "\\")) or name[1:2] == ":":
        return f"unsafe member name (absolute path): {name}"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        return f"unsafe member name (path traversal): {name}"
    return None


def _norm(name: str) -> str:
    if "\\" in name:
        name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _classify(name: str) -> str:
    """``skip``, ``image``, ``video``, ``archive``, ``json`` or ``other`` for a member name."""
    path = "/" + _norm(name)
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
    return "archive" if is_archive_name(base) else "other"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _member_error(exc: BaseException) -> str:
    text = _short(exc)
    if isinstance(exc, RuntimeError) and "encrypted" in text:
        return ENCRYPTED
    if "CRC" in text:
        return "corrupt archive member: bad CRC-32 checksum"
    if isinstance(exc, NotImplementedError):
        return f"unsupported compression method: {text}"
    if isinstance(exc, EOFError):
        return "truncated archive member"
    return f"corrupt archive member: {text}"


@dataclass
class _Part:
    path: str
    size: int
    mtime_ns: int
    fmt: str
    budget: _Budget
    zf: zipfile.ZipFile | None = None
    error: str | None = None


class _ArchiveSet:
    """One archive, or all parts of a split export: one export index over every part."""

    def __init__(self, entries: list[ArchiveEntry], with_facts: bool) -> None:
        self.with_facts = with_facts
        self.parts = {
            e.path: _Part(e.path, e.size, e.mtime_ns, e.fmt, _Budget(e.size)) for e in entries
        }
        self.index: ExportIndex | None = None
        self.prepared = False
        self.reported = False  # the export's unreadable JSON files, as error items
        self.left = len(entries)

    def items(self, path: str) -> Iterator[Item]:
        if not self.prepared:
            self._prepare()
        part = self.parts[path]
        try:
            if self.index is not None and not self.reported:  # with the first part
                self.reported = True
                yield from self.index.problem_items()
            if part.error is not None:
                yield Item(part.path, part.size, part.mtime_ns, error=part.error)
            elif part.zf is not None:
                yield from _zip_items(part.zf, part.path, self.index, 0, part.budget)
            else:
                yield from _tar_items(_tar_opener(part.path), part.path, self.index, 0, part.budget)
        finally:
            self.left -= 1
            if self.left == 0:
                for other in self.parts.values():
                    if other.zf is not None:
                        other.zf.close()

    def _prepare(self) -> None:
        self.prepared = True
        refs: dict[str, tuple[_Part, zipfile.ZipInfo | bytes]] = {}
        for part in self.parts.values():
            if part.fmt == "zip":
                try:
                    part.zf = zipfile.ZipFile(part.path)
                except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                    part.error = f"corrupt or truncated zip archive: {_short(exc)}"
                    continue
                if self.with_facts:
                    for name, info in _zip_listing(part.zf):
                        refs.setdefault(name, (part, info))
            elif self.with_facts:
                for name, data in _tar_listing(_tar_opener(part.path), part.budget):
                    refs.setdefault(name, (part, data))
        if not refs:
            return

        def load(name: str) -> bytes:
            part, ref = refs[name]
            if isinstance(ref, bytes):
                return ref
            return _zip_read(part.zf, ref, MAX_JSON_BYTES, part.budget)  # type: ignore[arg-type]

        def where(name: str) -> str:
            return f"{refs[name][0].path}!/{name}"

        hint = " ".join(os.path.basename(p) for p in self.parts)
        self.index = ExportIndex(list(refs), load, where, hint)


def _zip_listing(zf: zipfile.ZipFile) -> Iterator[tuple[str, zipfile.ZipInfo]]:
    """Media and JSON members of a zip, by normalised name (names only: nothing is read)."""
    for info in zf.infolist():
        usable = not info.is_dir() and _unsafe(info.filename) is None
        if usable and _classify(info.filename) in ("image", "video", "json"):
            yield _norm(info.filename), info


def _tar_listing(open_tar: _TarOpener, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    """Media member names (with empty data) and JSON members with their bytes, in one pass."""
    try:
        with open_tar() as tf:
            for member in tf:
                what = _classify(member.name)
                if not member.isfile() or _unsafe(member.name) is not None:
                    continue
                if what in ("image", "video"):
                    yield _norm(member.name), b""
                elif what == "json" and member.size <= MAX_JSON_BYTES:
                    fh = tf.extractfile(member)
                    if fh is not None:
                        yield _norm(member.name), read_capped(fh, MAX_JSON_BYTES, budget)
    except Exception:  # the main pass reports a damaged archive
        return


def _zip_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget) -> bytes:
    try:
        with zf.open(info) as fh:
            return read_capped(fh, cap, budget)
    except FileError:
        raise
    except Exception as exc:  # any damage is this member's error
        raise FileError(_member_error(exc)) from None


def _zip_problem(info: zipfile.ZipInfo, cap: int, shared_offsets: set[int]) -> str | None:
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"symbolic link member (not followed): {info.filename}"
    if info.flag_bits & 0x1:
        return ENCRYPTED
    if info.compress_type not in _ZIP_METHODS:
        return f"unsupported compression method {info.compress_type} (re-create the zip)"
    if info.file_size > cap:
        return f"member is {_mib(info.file_size)} uncompressed, over the {_mib(cap)} limit"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        return f"compression ratio {ratio:.0f}:1 is over {MAX_RATIO}:1: possible zip bomb"
    if info.header_offset in shared_offsets:
        return "member overlaps another member: possible zip bomb"
    return None


def _zip_items(
    zf: zipfile.ZipFile, display: str, index: ExportIndex | None, depth: int, budget: _Budget
) -> Iterator[Item]:
    infos = zf.infolist()
    offsets: dict[int, int] = {}
    for info in infos:
        offsets[info.header_offset] = offsets.get(info.header_offset, 0) + 1
    shared = {offset for offset, count in offsets.items() if count > 1}
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        what = _classify(name)
        problem = _unsafe(name)
        if problem is None and what in ("skip", "json", "other"):
            continue
        path = f"{display}!/{name}"
        mtime_ns = _zip_mtime(info)
        if problem is None:
            problem = _zip_problem(info, _cap(what), shared)
            if problem is None and what == "archive" and depth > 0:
                problem = TOO_DEEP
        if problem is not None:
            yield Item(path, info.file_size, mtime_ns, error=problem)
            continue
        read = functools.partial(_zip_read, zf, info)
        yield from _member_items(
            path, info.file_size, mtime_ns, what, read, budget, index, display, name
        )


def _member_items(
    path: str,
    size: int,
    mtime_ns: int,
    what: str,
    read: Callable[[int, _Budget], bytes],
    budget: _Budget,
    index: ExportIndex | None,
    display: str,
    name: str,
) -> Iterator[Item]:
    """The item(s) of one accepted archive member, zip or tar alike: an inner archive is read
    (capped) and opened, an image or video becomes an item whose bytes are read on demand."""
    if what == "archive":
        try:
            data = read(MAX_INNER_ARCHIVE, budget)
        except FileError as exc:
            yield Item(path, size, mtime_ns, error=exc.reason)
            return
        yield from _nested_items(data, path, mtime_ns, budget)
    elif what in ("image", "video"):
        yield Item(
            path,
            size,
            mtime_ns,
            kind=what,  # type: ignore[arg-type]
            read=functools.partial(read, _cap(what), budget),
            facts={"source": _member_source(index, display, name)},
        )


def _zip_mtime(info: zipfile.ZipInfo) -> int:
    try:
        return calendar.timegm((*info.date_time, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError, TypeError):
        return 0


_TarOpener = Callable[[], tarfile.TarFile]


def _tar_opener(source: str | bytes) -> _TarOpener:
    if isinstance(source, bytes):
        return lambda: tarfile.open(fileobj=io.BytesIO(source), mode="r:*")
    return lambda: tarfile.open(source, mode="r:*")


def _tar_problem(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return f"symbolic link member (not followed): {member.name} -> {member.linkname}"
    if member.islnk():
        return f"hard link member (not followed): {member.name} -> {member.linkname}"
    if member.isdev():
        return f"device or special file member: {member.name}"
    return None


def _tar_items(
    open_tar: _TarOpener, display: str, index: ExportIndex | None, depth: int, budget: _Budget
) -> Iterator[Item]:
    try:
        tf = open_tar()
    except Exception as exc:  # one error for the archive
        yield Item(display, 0, 0, error=f"corrupt or unreadable tar archive: {_short(exc)}")
        return
    with tf:
        while True:
            try:
                member = tf.next()
            except Exception as exc:
                yield Item(display, 0, 0, error=f"corrupt or truncated archive: {_short(exc)}")
                return
            if member is None:
                return
            if member.isdir():
                continue
            yield from _tar_member(tf, member, display, index, depth, budget)


def _tar_member(
    tf: tarfile.TarFile,
    member: tarfile.TarInfo,
    display: str,
    index: ExportIndex | None,
    depth: int,
    budget: _Budget,
) -> Iterator[Item]:
    name = member.name
    path = f"{display}!/{name}"
    mtime_ns = int(member.mtime) * 1_000_000_000 if member.mtime else 0
    what = _classify(name)
    problem = _unsafe(name)
    if problem is None and what != "skip":
        problem = _tar_problem(member)
    if problem is None and what in ("image", "video", "archive"):
        if not member.isfile():
            return
        if member.size > _cap(what):
            problem = f"member is {_mib(member.size)}, over the {_mib(_cap(what))} limit"
        elif what == "archive" and depth > 0:
            problem = TOO_DEEP
    if problem is not None:
        yield Item(path, member.size, mtime_ns, error=problem)
        return
    read = functools.partial(_tar_read, tf, member)
    yield from _member_items(path, member.size, mtime_ns, what, read, budget, index, display, name)


def _tar_read(tf: tarfile.TarFile, member: tarfile.TarInfo, cap: int, budget: _Budget) -> bytes:
    try:
        fh = tf.extractfile(member)
        if fh is None:
            raise FileError("not a regular file")
        with fh:
            return read_capped(fh, cap, budget)
    except FileError:
        raise
    except Exception as exc:
        raise FileError(_member_error(exc)) from None


def _nested_items(data: bytes, display: str, mtime_ns: int, budget: _Budget) -> Iterator[Item]:
    """Members of an archive read into memory from another archive (one level deep)."""
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt == "zip":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except Exception as exc:
            yield Item(display, len(data), mtime_ns, error=f"corrupt nested zip: {_short(exc)}")
            return
        with zf:
            refs = dict(_zip_listing(zf))
            index = _nested_index(
                list(refs), lambda n: _zip_read(zf, refs[n], MAX_JSON_BYTES, budget), display
            )
            yield from _zip_items(zf, display, index, 1, budget)
    elif fmt == "tar":
        opener = _tar_opener(data)
        found = dict(_tar_listing(opener, budget))
        index = _nested_index(list(found), found.__getitem__, display)
        yield from _tar_items(opener, display, index, 1, budget)
    else:
        yield Item(display, len(data), mtime_ns, error="nested file is not a zip or tar archive")


def _nested_index(
    names: list[str], load: Callable[[str], bytes], display: str
) -> ExportIndex | None:
    if not names:
        return None
    return ExportIndex(names, load, lambda n: f"{display}!/{n}", os.path.basename(display))


def _member_source(index: ExportIndex | None, display: str, name: str) -> dict[str, Any]:
    source = index.facts(_norm(name)) if index is not None else empty_source()
    source["archive"] = display
    source["member"] = name
    return source


def archive_sets(entries: list[ArchiveEntry], with_facts: bool) -> dict[str, _ArchiveSet]:
    """Group the parts of split exports (``name-001.zip``, ``name-002.zip``) into one set each;
    any other archive is a set of its own."""
    groups: dict[tuple[str, str], list[ArchiveEntry]] = {}
    for entry in entries:
        match = _SPLIT_PART.match(os.path.basename(entry.path))
        if match:
            stem = os.path.join(os.path.dirname(entry.path), match["stem"]).lower()
            key = (stem, match["ext"].lower())
        else:
            key = (entry.path, "")
        groups.setdefault(key, []).append(entry)
    sets: dict[str, _ArchiveSet] = {}
    for group in groups.values():
        shared = _ArchiveSet(group, with_facts)
        for entry in group:
            sets[entry.path] = shared
    return sets
