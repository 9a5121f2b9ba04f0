"""Read back the bytes of a result path: a plain file or an archive member.

Result paths are what every output shows: a file's path, ``archive.zip!/inner/x.jpg`` for an
archive member, ``outer.zip!/inner.zip!/x.jpg`` one level nested. Reading is read-only and capped:
members are looked up by name in the archive's listing and never extracted to disk, and nothing
larger than the limits ``archives`` scans with is read into memory.
"""

from __future__ import annotations

import calendar
import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from .errors import FileError
from .members import (
    MAX_IMAGE_MEMBER,
    MAX_INNER_ARCHIVE,
    MAX_VIDEO_MEMBER,
    Occurrences,
    read_capped,
    repeated_name,
)
from .names import is_archive_name, kind_of, sniff

SEPARATOR = "!/"


@dataclass(frozen=True)
class Located:
    """The bytes of one result path and its modification time (seconds since the epoch, None
    when the archive does not record one)."""

    data: bytes
    mtime: float | None


def read_bytes(path: str) -> bytes:
    """The bytes of ``path`` (a file, or an archive member as ``archive.zip!/inner/x.jpg``).

    Raises:
        FileError: when the file or member is missing, unreadable or over the size limit.
    """
    return read_located(path).data


def read_located(path: str) -> Located:
    """The bytes of ``path`` and its modification time (the member's date inside an archive).

    Raises:
        FileError: when the file or member is missing, unreadable or over the size limit.
    """
    for _, found in read_many([path]):
        if isinstance(found, FileError):
            raise found
        return found
    raise FileError("member not found in the archive")


def read_many(paths: Iterable[str]) -> Iterator[tuple[str, Located | FileError]]:
    """Read several result paths, each archive in one pass (a ``.tar.gz`` cannot seek, so
    reading its members one by one would decompress it once per member).

    Yields ``(path, Located)``, or ``(path, FileError)`` for one that cannot be read, once per
    distinct path: plain files first, then archive members grouped by archive.
    """
    wanted: dict[str, dict[str, str]] = {}  # archive -> {member path inside it: result path}
    for path in dict.fromkeys(paths):
        outer, rest = split_path(path)
        if rest is not None:
            wanted.setdefault(outer, {})[rest] = path
            continue
        try:
            st = _stat(outer)
            yield path, Located(_read_file(outer, _cap(outer)), st.st_mtime)
        except FileError as exc:
            yield path, exc
    for outer, members in wanted.items():
        served: set[str] = set()
        try:
            with open(outer, "rb") as fh:
                for rest, found in _members(fh, members.keys(), depth=0):
                    served.add(rest)
                    yield members[rest], found
        except FileError as exc:
            failure = exc
        except OSError as exc:
            failure = FileError(f"cannot read archive: {exc.strerror or exc}")
        else:
            failure = FileError("member not found in the archive")
        for rest, path in members.items():
            if rest not in served:
                yield path, failure


def split_path(path: str) -> tuple[str, str | None]:
    """``(file, member)`` for an archive member path, ``(path, None)`` for a plain file.

    A path that exists on disk is a plain file. Otherwise the file is the shortest prefix
    before a ``!/`` that is an existing archive (a regular file named or made as one), so a
    folder whose name contains ``!/``, or a folder ``a!`` beside a file ``a``, still works.
    """
    if SEPARATOR not in path or os.path.lexists(path):
        return path, None
    start = 0
    while True:
        at = path.find(SEPARATOR, start)
        if at < 0:
            return path, None
        head = path[:at]
        if os.path.isfile(head) and _archive(head):
            return head, path[at + len(SEPARATOR) :]
        start = at + 1


def _archive(path: str) -> bool:
    if is_archive_name(path):
        return True
    try:
        with open(path, "rb") as fh:
            _archive_format(fh)
    except (OSError, FileError):
        return False
    return True


def _archive_format(fh: IO[bytes]) -> str:
    """``zip`` or ``tar`` for the archive open in ``fh`` (left at its start), by its first
    bytes; a ``FileError`` for anything else."""
    head = fh.read(512)
    fh.seek(0)
    fmt = sniff(head)
    if fmt not in ("zip", "tar"):
        raise FileError("not a zip or tar archive")
    return fmt


def _stat(path: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileError("file no longer exists") from None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError("not a regular file")
    return st


def _cap(name: str) -> int:
    return MAX_VIDEO_MEMBER if kind_of(name) == "video" else MAX_IMAGE_MEMBER


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB"


def _read_capped(fh: IO[bytes], cap: int) -> bytes:
    return read_capped(fh, cap, too_big="larger than the {limit} limit")


def _read_file(path: str, cap: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return _read_capped(fh, cap)
    except FileNotFoundError:
        raise FileError("file no longer exists") from None
    except PermissionError:
        raise FileError("permission denied") from None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None


def _members(
    fh: IO[bytes], rests: Iterable[str], depth: int
) -> Iterator[tuple[str, Located | FileError]]:
    """One pass over the archive open in ``fh``, yielding each wanted member (a name, or
    ``inner.zip!/name`` for a member of an archive inside it, one level deep)."""
    direct = set(rests)
    nested: dict[str, set[str]] = {}  # inner archive name -> wanted names inside it
    if depth == 0:
        for rest in direct:
            start = 0
            while (at := rest.find(SEPARATOR, start)) >= 0:
                nested.setdefault(rest[:at], set()).add(rest[at + len(SEPARATOR) :])
                start = at + 1
    fmt = _archive_format(fh)
    done: set[str] = set()
    for name, read, mtime in _entries(fh, fmt):
        if name in direct and name not in done:
            done.add(name)
            yield name, _attempt(read, _cap(repeated_name(name)), mtime)
        inner = nested.get(name)
        if inner:
            data = _attempt(read, MAX_INNER_ARCHIVE, mtime)
            left = {sub for sub in inner if f"{name}{SEPARATOR}{sub}" not in done}
            if isinstance(data, FileError):
                found = [(sub, data) for sub in left]
            else:
                found = list(_members(io.BytesIO(data.data), left, depth + 1))
            for sub, result in found:
                done.add(f"{name}{SEPARATOR}{sub}")
                yield f"{name}{SEPARATOR}{sub}", result


def present_members(archive: str, rests: set[str]) -> set[str] | None:
    """Which of ``rests`` (paths inside ``archive`` as ``split_path`` gives them: a name,
    ``NAME#2``, or ``inner.zip!/name`` one level deep) the archive still holds; None when it
    cannot be read, and then none is taken for gone. Only names are read: a member of an
    archive inside it is there while that archive is (what it holds is checked when it is
    scanned again; reading it here cost its whole size on every ``data``)."""
    try:
        with open(archive, "rb") as fh:
            names = {name for name, _, _ in _entries(fh, _archive_format(fh))}
    except (OSError, FileError):
        return None
    return {rest for rest in rests if rest.split(SEPARATOR, 1)[0] in names}


_Reader = Callable[[int], bytes]


def _attempt(read: _Reader, cap: int, mtime: float | None) -> Located | FileError:
    try:
        return Located(read(cap), mtime)
    except FileError as exc:
        return exc
    except Exception as exc:  # any damage is this member's error
        return FileError(f"cannot read archive member: {exc}")


def _entries(fh: IO[bytes], fmt: str) -> Iterator[tuple[str, _Reader, float | None]]:
    """Regular-file members in archive order: name, a capped reader, modification time."""
    occurrences = Occurrences()  # a repeated name is NAME#2 in the paths, as when scanned
    try:
        if fmt == "zip":
            with zipfile.ZipFile(fh) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        key = occurrences.key(info.filename)
                        yield key, _zip_reader(zf, info), _zip_time(info)
            return
        with tarfile.open(fileobj=fh, mode="r:*") as tf:
            for member in tf:
                if member.isdir():
                    continue
                key = occurrences.key(member.name)
                if member.isfile():
                    yield key, _tar_reader(tf, member), float(member.mtime) or None
    except FileError:
        raise
    except Exception as exc:  # archive libraries raise many types for damaged archives
        raise FileError(f"corrupt archive: {exc}") from None


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Reader:
    def read(cap: int) -> bytes:
        if info.flag_bits & 0x1:
            raise FileError("encrypted member")
        if info.file_size > cap:
            raise FileError(f"member is over the {_mib(cap)} limit")
        with zf.open(info) as member:
            return _read_capped(member, cap)

    return read


def _tar_reader(tf: tarfile.TarFile, info: tarfile.TarInfo) -> _Reader:
    def read(cap: int) -> bytes:
        if info.size > cap:
            raise FileError(f"member is over the {_mib(cap)} limit")
        extracted = tf.extractfile(info)
        if extracted is None:
            raise FileError("not a regular file in the archive")
        with extracted:
            return _read_capped(extracted, cap)

    return read


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    try:
        if info.date_time[0] < 1980:
            return None
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except (ValueError, OverflowError, TypeError):
        return None
