"""Read archives in place: zip, tar, tar.gz/tgz, one level of nesting.

Members are listed from the archive and their bytes are read only when the consumer calls
``Item.read()``; nothing is ever extracted to disk. Hostile content (path traversal or absolute
names, links and devices, zip bombs, encrypted or corrupt members) becomes error items with a
reason. A zip's listing is its central directory and its JSON members are read when needed; a tar
cannot seek, so it is read twice: once for its JSON members, once for its photos. The parts of a
split export are grouped by ``archiveset``, which calls the readers here.
"""

from __future__ import annotations

import calendar
import functools
import io
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from .errors import FileError, short_reason
from .exports import ExportIndex, empty_source
from .members import (
    BAD_NAME,
    MAX_INNER_ARCHIVE,
    TOO_DEEP,
    Budget,
    Occurrences,
    cap_for,
    classify,
    member_error,
    mib,
    norm_name,
    read_capped,
    tar_problem,
    unsafe_name,
    zip_problem,
)
from .names import MAX_JSON_BYTES, SNIFF_BYTES, media_kind, sniff
from .types import Item


def zip_listing(zf: zipfile.ZipFile) -> Iterator[tuple[str, zipfile.ZipInfo]]:
    """Media, JSON and HTML members of a zip, by normalised name (names only: nothing is
    read)."""
    for info in zf.infolist():
        usable = not info.is_dir() and unsafe_name(info.filename) is None
        if usable and classify(info.filename) in ("image", "video", "json", "html"):
            yield norm_name(info.filename), info


def tar_listing(open_tar: _TarOpener, budget: Budget) -> Iterator[tuple[str, bytes]]:
    """Media and HTML member names (with empty data) and JSON members with their bytes, in one
    pass."""
    try:
        with open_tar() as tf:
            for member in tf:
                what = classify(member.name)
                if not member.isfile() or unsafe_name(member.name) is not None:
                    continue
                if what in ("image", "video", "html"):
                    yield norm_name(member.name), b""
                elif what == "json" and member.size <= MAX_JSON_BYTES:
                    fh = tf.extractfile(member)
                    if fh is not None:
                        yield norm_name(member.name), read_capped(fh, MAX_JSON_BYTES, budget)
    except Exception:  # the main pass reports a damaged archive
        return


def zip_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: Budget) -> bytes:
    """A zip member's bytes, capped; any damage is this member's ``FileError``."""
    try:
        with zf.open(info) as fh:
            return read_capped(fh, cap, budget)
    except FileError:
        raise
    except Exception as exc:  # any damage is this member's error
        raise FileError(member_error(exc)) from None


def zip_items(
    zf: zipfile.ZipFile, display: str, index: ExportIndex | None, depth: int, budget: Budget
) -> Iterator[Item]:
    """The items of a zip's members; a hostile or damaged member is an error item."""
    infos = zf.infolist()
    offsets: dict[int, int] = {}
    for info in infos:
        offsets[info.header_offset] = offsets.get(info.header_offset, 0) + 1
    shared = {offset for offset, count in offsets.items() if count > 1}
    occurrences = Occurrences()
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        key = occurrences.key(name)
        what = classify(name)
        problem = unsafe_name(name)
        if problem is None and what == "unnamed":
            what = _zip_content_kind(zf, info)
        if problem is None and what in ("skip", "json", "html", "other", "unnamed"):
            continue
        path = f"{display}!/{key}"
        mtime_ns = _zip_mtime(info)
        if problem is None:
            problem = zip_problem(info, cap_for(what), shared)
            if problem is None and what == "archive" and depth > 0:
                problem = TOO_DEEP
        if problem is not None:
            yield Item(path, info.file_size, mtime_ns, error=problem)
            continue
        read = functools.partial(zip_read, zf, info)
        yield from _member_items(
            path, info.file_size, mtime_ns, what, read, budget, index, display, name,
            stamp=f"crc:{info.CRC:08x}",
        )  # fmt: skip


def _zip_content_kind(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """``image`` or ``video`` for a member without an extension whose first bytes say so (as
    for a file on disk), else ``other``."""
    if info.flag_bits & 0x1:
        return "other"
    try:
        with zf.open(info) as fh:
            return media_kind(fh.read(SNIFF_BYTES)) or "other"
    except Exception:  # a damaged member without a name that says it is a photo: not one
        return "other"


def _member_items(
    path: str,
    size: int,
    mtime_ns: int,
    what: str,
    read: Callable[[int, Budget], bytes],
    budget: Budget,
    index: ExportIndex | None,
    display: str,
    name: str,
    stamp: str | None = None,
) -> Iterator[Item]:
    """The item(s) of one accepted archive member, zip or tar alike: an inner archive is read
    (capped) and opened, an image or video becomes an item whose bytes are read on demand.
    ``stamp``: the member's content stamp (a zip member's CRC-32), see ``Item``."""
    if what == "archive":
        try:
            data = read(MAX_INNER_ARCHIVE, budget)
        except FileError as exc:
            yield Item(path, size, mtime_ns, error=exc.reason)
            return
        yield from _nested_items(data, path, mtime_ns, budget, stamp)
    elif what in ("image", "video"):
        yield Item(
            path,
            size,
            mtime_ns,
            kind=what,  # type: ignore[arg-type]
            read=functools.partial(read, cap_for(what), budget),
            facts={"source": _member_source(index, display, name)},
            stamp=stamp,
        )


def _zip_mtime(info: zipfile.ZipInfo) -> int:
    try:
        return calendar.timegm((*info.date_time, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError, TypeError):
        return 0


_TarOpener = Callable[[], tarfile.TarFile]


def tar_opener(source: str | bytes) -> _TarOpener:
    """Opens the tar at a path or in memory, anew on each call: a tar cannot seek back, so
    every pass over it reopens it."""
    if isinstance(source, bytes):
        return lambda: tarfile.open(fileobj=io.BytesIO(source), mode="r:*")
    return lambda: tarfile.open(source, mode="r:*")


def tar_items(
    open_tar: _TarOpener,
    display: str,
    index: ExportIndex | None,
    depth: int,
    budget: Budget,
    stamp: str | None = None,
    listed: Callable[[str, bool], None] | None = None,
) -> Iterator[Item]:
    """The items of a tar's members; a hostile or damaged member is an error item, an
    unreadable archive one error item for the whole. ``stamp``: the archive's (see
    ``Item.stamp``), given to each member. ``listed`` is told each member's name and whether
    it is a folder, as the stream goes."""
    try:
        tf = open_tar()
    except Exception as exc:  # one error for the archive
        # tarfile lists one failure per compression it tried, over several lines.
        first = short_reason(exc).splitlines()[0].rstrip(":")
        yield Item(display, 0, 0, error=f"corrupt or unreadable tar archive: {first}")
        return
    occurrences = Occurrences()
    with tf:
        while True:
            try:
                member = tf.next()
            except Exception as exc:
                yield Item(
                    display, 0, 0, error=f"corrupt or truncated archive: {short_reason(exc)}"
                )
                return
            if member is None:
                return
            if listed is not None:
                listed(member.name, member.isdir())
            if member.isdir():
                continue
            path = f"{display}!/{occurrences.key(member.name)}"
            yield from _tar_member(tf, member, path, display, index, depth, budget, stamp)


def _tar_member(
    tf: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: str,
    display: str,
    index: ExportIndex | None,
    depth: int,
    budget: Budget,
    stamp: str | None,
) -> Iterator[Item]:
    name = member.name
    mtime_ns = int(member.mtime) * 1_000_000_000 if member.mtime else 0
    what = classify(name)
    problem = unsafe_name(name)
    if problem is None and what == "unnamed" and member.isfile():
        return (yield from _unnamed_tar_member(tf, member, path, mtime_ns, budget, stamp))
    if problem is None and what != "skip":
        problem = tar_problem(member)
    if problem is None and what in ("image", "video", "archive"):
        if not member.isfile():
            return
        if member.size > cap_for(what):
            problem = _over_limit(member.size, what)
        elif what == "archive" and depth > 0:
            problem = TOO_DEEP
    if problem is not None:
        yield Item(path, member.size, mtime_ns, error=problem)
        return
    read = functools.partial(_tar_read, tf, member)
    yield from _member_items(
        path, member.size, mtime_ns, what, read, budget, index, display, name, stamp
    )


def _unnamed_tar_member(
    tf: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: str,
    mtime_ns: int,
    budget: Budget,
    stamp: str | None,
) -> Iterator[Item]:
    """A tar member without an extension: an item when its first bytes say image or video,
    read whole now (going back for it later would unpack a .tgz again from its start)."""
    try:
        fh = tf.extractfile(member)
        if fh is None:
            return
        with fh:
            head = fh.read(SNIFF_BYTES)
            what = media_kind(head)
            if what is None:
                return
            if member.size > cap_for(what):
                yield Item(path, member.size, mtime_ns, error=_over_limit(member.size, what))
                return
            data = head + read_capped(fh, cap_for(what) - len(head), budget)
    except FileError as exc:
        yield Item(path, member.size, mtime_ns, error=exc.reason)
        return
    except Exception as exc:
        yield Item(path, member.size, mtime_ns, error=member_error(exc))
        return
    yield Item(
        path,
        member.size,
        mtime_ns,
        kind=what,
        read=lambda: data,
        facts={"source": _member_source(None, path.rpartition("!/")[0], member.name)},
        stamp=stamp,
    )


def _over_limit(size: int, what: str) -> str:
    return f"member is {mib(size)}, over the {mib(cap_for(what))} limit"


def _tar_read(tf: tarfile.TarFile, member: tarfile.TarInfo, cap: int, budget: Budget) -> bytes:
    try:
        fh = tf.extractfile(member)
        if fh is None:
            raise FileError("not a regular file")
        with fh:
            return read_capped(fh, cap, budget)
    except FileError:
        raise
    except Exception as exc:
        raise FileError(member_error(exc)) from None


def _nested_items(
    data: bytes, display: str, mtime_ns: int, budget: Budget, stamp: str | None
) -> Iterator[Item]:
    """Members of an archive read into memory from another archive (one level deep); a nested
    tar's members take the stamp of the member holding it (``stamp``)."""
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt == "zip":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except Exception as exc:
            bad = isinstance(exc, UnicodeDecodeError)
            reason = BAD_NAME if bad else f"corrupt nested zip: {short_reason(exc)}"
            yield Item(display, len(data), mtime_ns, error=reason)
            return
        with zf:
            refs = dict(zip_listing(zf))
            index = _nested_index(
                list(refs), lambda n: zip_read(zf, refs[n], MAX_JSON_BYTES, budget), display
            )
            yield from zip_items(zf, display, index, 1, budget)
    elif fmt == "tar":
        opener = tar_opener(data)
        found = dict(tar_listing(opener, budget))
        index = _nested_index(list(found), found.__getitem__, display)
        nested = f"tar:{stamp}" if stamp is not None and not stamp.startswith("tar:") else stamp
        yield from tar_items(opener, display, index, 1, budget, nested)
    else:
        yield Item(display, len(data), mtime_ns, error="nested file is not a zip or tar archive")


def _nested_index(
    names: list[str], load: Callable[[str], bytes], display: str
) -> ExportIndex | None:
    if not names:
        return None
    return ExportIndex(names, load, lambda n: f"{display}!/{n}", os.path.basename(display))


def _member_source(index: ExportIndex | None, display: str, name: str) -> dict[str, Any]:
    source = index.facts(norm_name(name)) if index is not None else empty_source()
    source["archive"] = display
    source["member"] = name
    return source
