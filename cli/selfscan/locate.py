"""Read back the bytes of a result path: a plain file or an archive member.

Result paths are what every output shows: a file's path, ``archive.zip!/inner/x.jpg`` for an
archive member, ``outer.zip!/inner.zip!/x.jpg`` one level nested. Reading is read-only and capped:
members are looked up by name in the archive's listing and never extracted to disk, and nothing
larger than the limits ``sources`` scans with is read into memory.
"""

from __future__ import annotations

import calendar
import io
import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from typing import IO

from .errors import FileError
from .sources import MAX_IMAGE_MEMBER, MAX_INNER_ARCHIVE, MAX_VIDEO_MEMBER, kind_of, sniff

SEPARATOR = "!/"
_CHUNK = 1024 * 1024


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
    outer, rest = split_path(path)
    if rest is None:
        st = _stat(outer)
        return Located(_read_file(outer, _cap(outer)), st.st_mtime)
    try:
        with open(outer, "rb") as fh:
            return _member(fh, rest, depth=0)
    except FileError:
        raise
    except OSError as exc:
        raise FileError(f"cannot read archive: {exc.strerror or exc}") from None


def split_path(path: str) -> tuple[str, str | None]:
    """``(file, member)`` for an archive member path, ``(path, None)`` for a plain file.

    The file is the shortest prefix before a ``!/`` that is an existing regular file, so a folder
    whose name contains ``!/`` still works.
    """
    start = 0
    while True:
        at = path.find(SEPARATOR, start)
        if at < 0:
            return path, None
        head = path[:at]
        if os.path.isfile(head):
            return head, path[at + len(SEPARATOR) :]
        start = at + 1


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
    chunks: list[bytes] = []
    got = 0
    while True:
        chunk = fh.read(min(_CHUNK, cap + 1 - got))
        if not chunk:
            return b"".join(chunks)
        got += len(chunk)
        if got > cap:
            raise FileError(f"larger than the {_mib(cap)} limit")
        chunks.append(chunk)


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


def _member(fh: IO[bytes], rest: str, depth: int) -> Located:
    """Member ``rest`` of the archive open in ``fh``; ``rest`` may name a member of an archive
    inside it (one level)."""
    head = fh.read(512)
    fh.seek(0)
    fmt = sniff(head)
    if fmt not in ("zip", "tar"):
        raise FileError("not a zip or tar archive")
    names = _names(fh, fmt)
    if rest in names:
        return _read_member(fh, fmt, rest, _cap(rest))
    if depth == 0:
        start = 0
        while (at := rest.find(SEPARATOR, start)) >= 0:
            inner = rest[:at]
            if inner in names:
                data = _read_member(fh, fmt, inner, MAX_INNER_ARCHIVE).data
                return _member(io.BytesIO(data), rest[at + len(SEPARATOR) :], depth + 1)
            start = at + 1
    raise FileError("member not found in the archive")


def _names(fh: IO[bytes], fmt: str) -> set[str]:
    try:
        if fmt == "zip":
            with zipfile.ZipFile(fh) as zf:
                return {i.filename for i in zf.infolist() if not i.is_dir()}
        with tarfile.open(fileobj=fh, mode="r:*") as tf:
            return {m.name for m in tf.getmembers() if m.isfile()}
    except FileError:
        raise
    except Exception as exc:  # archive libraries raise many types for damaged archives
        raise FileError(f"corrupt archive: {exc}") from None
    finally:
        fh.seek(0)


def _read_member(fh: IO[bytes], fmt: str, name: str, cap: int) -> Located:
    try:
        if fmt == "zip":
            with zipfile.ZipFile(fh) as zf:
                info = zf.getinfo(name)
                if info.flag_bits & 0x1:
                    raise FileError("encrypted member")
                if info.file_size > cap:
                    raise FileError(f"member is over the {_mib(cap)} limit")
                with zf.open(info) as member:
                    data = _read_capped(member, cap)
                return Located(data, _zip_time(info))
        with tarfile.open(fileobj=fh, mode="r:*") as tf:
            info = tf.getmember(name)
            if not info.isfile():
                raise FileError("not a regular file in the archive")
            if info.size > cap:
                raise FileError(f"member is over the {_mib(cap)} limit")
            extracted = tf.extractfile(info)
            if extracted is None:
                raise FileError("not a regular file in the archive")
            with extracted:
                data = _read_capped(extracted, cap)
            return Located(data, float(info.mtime) if info.mtime else None)
    except FileError:
        raise
    except Exception as exc:  # any damage is this member's error
        raise FileError(f"cannot read archive member: {exc}") from None
    finally:
        fh.seek(0)


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    try:
        if info.date_time[0] < 1980:
            return None
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except (ValueError, OverflowError, TypeError):
        return None
