"""How the index's rows read: the columns a lookup selects, paths as stored (and whether their
file, or their archive member, is still there), the read-ahead window of a rescan, rows turned
back into an ``Analysis``, and what to say when SQLite cannot use the index. Used by
:mod:`selfscan.index`.
"""

from __future__ import annotations

import codecs
import json
import os
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import StoreError
from .locate import SEPARATOR, present_members, split_path
from .members import tar_stamp
from .types import Analysis, Face, Item

# The columns of a files row that make its Analysis, and of a faces row.
DETAIL = "error, width, height, orientation, facts, fingerprint, face_count, stamp"
FACE = "x1, y1, x2, y2, det_score, landmarks, embedding, time"
WINDOW = 256  # rows read ahead by one lookup during a rescan


def as_stored(ns: int) -> int:
    """A time in nanoseconds as SQLite can hold it (64 bits): a file dated after 2262 (a wrong
    clock, a hostile tar) is stored as the latest time there is, instead of failing the scan."""
    return max(-(2**63), min(ns, 2**63 - 1))


# Paths are stored as bytes: a file's path as the file system names it, an archive member's name
# (Unicode in its archive) in UTF-8. With a UTF-8 file-system encoding (every modern system) both
# are the path's UTF-8 with ``os.fsdecode``'s surrogates turned back into their bytes.
_FS_UTF8 = codecs.lookup(sys.getfilesystemencoding()).name == "utf-8"


def answers(stored: tuple, item: Item, model_id: str, mode: int) -> bool:
    """Whether a row's ``(size, mtime_ns, model_id, mode)`` answers ``item``: the same size and
    mtime, the same model, and a mode at least as thorough (``index.MODES``)."""
    size, mtime_ns, stored_model, stored_mode = stored
    same = (size, mtime_ns, stored_model) == (item.size, as_stored(item.mtime_ns), model_id)
    return same and stored_mode >= mode


def key_of(path: str) -> bytes:
    """A path as stored: the file-system bytes of its part on disk, then a member's UTF-8 name."""
    if _FS_UTF8:
        return path.encode("utf-8", "surrogateescape")
    on_disk, member = _legacy_split(path)
    try:
        head = os.fsencode(on_disk)
    except UnicodeEncodeError:  # not a name this file system could hold
        head = on_disk.encode("utf-8", "surrogateescape")
    if member is None:
        return head
    return head + SEPARATOR.encode() + member.encode("utf-8", "surrogateescape")


def path_of(raw: bytes | str) -> str:
    """A stored path as this process names it (as a walk of the folder would give it)."""
    if isinstance(raw, str):
        return raw
    if _FS_UTF8:
        return raw.decode("utf-8", "surrogateescape")
    # A legacy file-system encoding (Latin-1, ASCII): the part on disk decoded as the walk
    # decodes it, so that a scan, ``data`` and ``forget`` find the files under their names.
    on_disk, member = _legacy_split(os.fsdecode(raw))
    if member is None:
        return on_disk
    return on_disk + SEPARATOR + os.fsencode(member).decode("utf-8", "surrogateescape")


def _legacy_split(path: str) -> tuple[str, str | None]:
    """``(part on disk, member or None)``, found by looking for the archive on disk."""
    at = path.find(SEPARATOR)
    while at >= 0:
        try:
            if os.path.isfile(path[:at]):
                return path[:at], path[at + len(SEPARATOR) :]
        except (UnicodeEncodeError, ValueError):
            pass
        at = path.find(SEPARATOR, at + 1)
    return path, None


@dataclass(frozen=True)
class Window:
    """Every stored row whose path lies in ``[low, high]`` (``high`` None: no end), by path."""

    low: bytes
    high: bytes | None
    rows: dict[bytes, tuple]

    def covers(self, key: bytes) -> bool:
        return self.low <= key and (self.high is None or key <= self.high)


@dataclass(frozen=True)
class Cached:
    """An index hit: the stored analysis of an item with the same path, size and mtime, and the
    content stamp stored with it (see ``Item.stamp``)."""

    file_id: int
    analysis: Analysis
    stamp: str | None = None


def analysis_from_rows(row: tuple, face_rows: list[tuple]) -> Analysis:
    """The ``Analysis`` held by a ``files`` row (its ``DETAIL`` columns) and its faces' rows."""
    faces = tuple(
        Face(
            box=(x1, y1, x2, y2),
            landmarks=np.frombuffer(lm, dtype="<f4").reshape(5, 2),
            det_score=det,
            embedding=None if emb is None else np.frombuffer(emb, dtype="<f4"),
            time=t,
        )
        for x1, y1, x2, y2, det, lm, emb, t in face_rows
    )
    return Analysis(
        faces=faces,
        width=row[1],
        height=row[2],
        orientation=row[3],
        error=row[0],
        facts=json.loads(row[4]) if row[4] else {},
        fingerprint=row[5],
    )


def file_part(path: str) -> str:
    """The file an indexed item is in: itself, or for an archive member its archive (as
    ``locate.split_path`` tells them apart: a folder may be named ``Wow!``). When no such
    archive exists, the path itself (which then does not exist either)."""
    return split_path(path)[0]


def still_there(path: str) -> bool:
    """Whether an indexed item's file, or for an archive member its archive, still exists."""
    return os.path.lexists(file_part(path))


def gone_paths(rows: Iterable[tuple[bytes | str, str | None]]) -> list[str]:
    """The indexed items (``(path, stamp)`` rows) that no longer exist: a file deleted, an
    archive deleted, or a member no longer in its archive. An archive is opened for its names
    only when it may have changed (a tar whose identity is still its members' stamp has not),
    and one that cannot be read keeps its members."""
    gone: list[str] = []
    members: dict[str, dict[str, list[str]]] = {}  # archive -> member -> indexed paths
    stamps: dict[str, set[str | None]] = {}
    for raw, stamp in rows:
        path = path_of(raw)
        archive, member = split_path(path)
        if member is None:
            if not os.path.lexists(path):
                gone.append(path)
            continue
        members.setdefault(archive, {}).setdefault(member, []).append(path)
        stamps.setdefault(archive, set()).add(stamp)
    for archive, wanted in members.items():
        if stamps[archive] == {tar_stamp(archive)}:
            continue  # a tar unchanged since its members were indexed
        present = present_members(archive, set(wanted))
        if present is not None:
            gone += [p for rest, paths in wanted.items() if rest not in present for p in paths]
    return sorted(gone)


def store_problem(path: Path | None, exc: sqlite3.DatabaseError) -> StoreError:
    """What to tell the user when SQLite cannot use the index at ``path``."""
    text = str(exc)
    where = f"the index {path}" if path is not None else "the index"
    if any(s in text for s in ("malformed", "not a database", "no such table", "no such column")):
        return StoreError(
            f"{where} is damaged ({text}): delete it with 'selfscan forget --index' (the next "
            "scan builds it again; your photos and profiles are not affected), or scan with "
            "--no-store"
        )
    if path is not None and path.is_dir():
        return StoreError(
            f"{path} is a folder, not selfscan's index: move it out of the data dir (selfscan "
            "leaves it alone), or scan with --no-store"
        )
    return StoreError(
        f"cannot use {where} ({text}): check that its folder is writable and the disk is not "
        "full, or scan with --no-store"
    )
