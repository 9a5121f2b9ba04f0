"""The SQLite index: what was found in every scanned item, so a rescan skips unchanged files.

One row per scanned item (path or archive member, size, mtime_ns, a content fingerprint, error,
image size, orientation, facts) and one per face (box, landmarks, detector score, float32
embedding, video time). Every row records the model id that made it; rows of another model are
never used. Schema changes are numbered migrations (:mod:`selfscan.index_migrations`) applied
when the database opens; fingerprints come from :mod:`selfscan.fingerprints`. WAL mode and one
transaction per batch: a crash loses at most the batch in flight.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from . import lock
from .config import data_dir, ensure_private_dir, private_umask
from .errors import StoreError
from .fingerprints import WHOLE_LIMIT
from .index_migrations import migrate
from .index_rows import (
    DETAIL,
    FACE,
    WINDOW,
    Cached,
    Window,
    analysis_from_rows,
    answers,
    as_stored,
    gone_paths,
    key_of,
    path_of,
    still_there,
    store_problem,
)
from .types import Analysis, Item

MODES = {"quick": 0, "default": 1, "thorough": 2}


def index_path() -> Path:
    """Where the index lives."""
    return data_dir() / "index.sqlite"


def foreign_index(path: Path) -> bool:
    """Whether ``path`` is an SQLite database of someone else's: it holds tables, and not the
    index's (``SELFSCAN_HOME`` pointed at a folder holding an ``index.sqlite`` of its own). It is
    read, never written; an unreadable or damaged one is not called foreign."""
    try:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\0":
                return False
        # immutable: a database in WAL mode is read without making -wal and -shm beside it
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            db.close()
    except (OSError, sqlite3.Error, ValueError):
        return False
    tables = {name for (name,) in rows}
    return bool(tables) and not {"files", "faces"} <= tables


class Index:
    """The index database. ``Index(None)`` is an in-memory one that keeps nothing (--no-store).
    With ``exclusive``, it holds the data dir's scan lock (see :mod:`selfscan.lock`) until
    closed."""

    def __init__(self, path: Path | None, exclusive: bool = False) -> None:
        self.path = path
        if path is not None and path.is_symlink():  # the index would live outside the data dir
            raise StoreError(
                f"{path} is a symlink (to {os.readlink(path)}): selfscan keeps its index in its "
                "data dir, where 'selfscan forget' can erase it; remove the link (and the file "
                "it leads to, if that is an index of selfscan's you no longer want)"
            )
        if path is not None and foreign_index(path):  # never migrated, written or deleted
            raise StoreError(
                f"{path} is not selfscan's index (it holds other tables): move it out of the "
                "data dir, or set SELFSCAN_HOME to a folder of selfscan's own"
            )
        self._lock = lock.acquire(path) if path is not None and exclusive else None
        try:
            self.db = self._open(path)
        except BaseException as exc:
            self.close_lock()
            if isinstance(exc, sqlite3.DatabaseError):
                raise store_problem(path, exc) from None
            raise
        self._window = Window(b"", b"", {})  # rows read ahead (see _read_window)
        self._written: set[bytes] = set()  # paths put since the window was read

    @staticmethod
    def _open(path: Path | None) -> sqlite3.Connection:
        if path is not None:
            ensure_private_dir(path.parent)
            with private_umask():
                db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
        else:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, not left in free pages: a forgotten face's embedding is
        # gone from the file (some SQLite builds do this by default, not all).
        db.execute("PRAGMA secure_delete=ON")
        migrate(db)
        # Damage usually shows on the first read: find it now, before any output is written.
        db.execute("SELECT COUNT(*), MAX(id) FROM files").fetchone()
        return db

    def check(self) -> None:
        """Read every page (SQLite's quick_check); a ``StoreError`` with advice if any is
        damaged. For ``doctor``: a scan finds damage only where it reads."""
        try:
            found = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if found != "ok":  # "*** in database main ***\nPage 4: ...": one line to show
                lines = [line.strip() for line in str(found).splitlines() if line.strip()]
                said = "; ".join(lines[:3]) + ("; …" if len(lines) > 3 else "")
                raise sqlite3.DatabaseError(f"database disk image is malformed: {said}")
        except sqlite3.DatabaseError as exc:
            raise store_problem(self.path, exc) from None

    def close(self) -> None:
        try:
            self.commit()
            self.db.close()
        finally:
            self.close_lock()

    def close_lock(self) -> None:
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None

    def begin(self) -> None:
        # SQLite's own state, not a flag of ours: a failed write (the disk full) rolls the
        # transaction back, and a COMMIT then fails with an error that hides the real one.
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def rollback(self) -> None:
        """Drop what was written since the last commit (a write that failed midway)."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def lookup(self, item: Item, model_id: str, mode: str) -> Cached | None:
        """The stored analysis when ``item`` is unchanged (same path, size and mtime_ns), was
        analysed by ``model_id``, and at least as thoroughly as ``mode``."""
        key = key_of(item.path)
        if item.fs_path is None or key in self._written:
            row = self._read_one(key)  # archive members do not arrive in path order
        else:
            if not self._window.covers(key):
                self._read_window(key)
            row = self._window.rows.get(key)
        if row is None:
            return None
        if not answers(row[1:5], item, model_id, MODES[mode]):
            return None
        return Cached(row[0], analysis_from_rows(row[5:12], row[13]), row[12])

    def _read_one(self, key: bytes) -> tuple | None:
        row = self.db.execute(
            f"SELECT id, size, mtime_ns, model_id, mode, {DETAIL} FROM files WHERE path = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return (*row, self._face_rows(row[0]) if row[11] != 0 else [])

    def _read_window(self, key: bytes) -> None:
        """Read the rows of the next WINDOW paths from ``key`` on, with their faces, in two
        queries. Files in a folder arrive in path order, so a rescan then finds the following
        ones already read, and a new folder's files fall in the gap before the next stored path."""
        rows = self.db.execute(
            f"SELECT path, id, size, mtime_ns, model_id, mode, {DETAIL} FROM files "
            "WHERE path >= ? ORDER BY path LIMIT ?",
            (key, WINDOW),
        ).fetchall()
        faces: dict[int, list[tuple]] = {}
        with_faces = [r[1] for r in rows if r[12] != 0]
        if with_faces:
            marks = ",".join("?" * len(with_faces))
            for face in self.db.execute(
                f"SELECT file_id, {FACE} FROM faces WHERE file_id IN ({marks}) "
                "ORDER BY file_id, id",
                with_faces,
            ):
                faces.setdefault(face[0], []).append(face[1:])
        self._written.clear()  # the window read them back
        self._window = Window(
            key,
            rows[-1][0] if len(rows) == WINDOW else None,
            {path: (*rest, faces.get(rest[0], [])) for path, *rest in rows},
        )

    def _face_rows(self, file_id: int) -> list[tuple]:
        return self.db.execute(
            f"SELECT {FACE} FROM faces WHERE file_id = ? ORDER BY id", (file_id,)
        ).fetchall()

    def restamp(self, file_id: int, stamp: str | None) -> None:
        """Record ``stamp`` for a row whose content was found unchanged although its stamp was
        not (a ``chmod``, a copy back from a backup)."""
        self.begin()
        self.db.execute("UPDATE files SET stamp = ? WHERE id = ?", (stamp, file_id))

    def moved(self, fingerprint: str, size: int, model_id: str, mode: str) -> Cached | None:
        """A stored item with the same content: for a file digested whole (see
        ``fingerprints``), any (a copy, the same folder reached through a symlink, a file
        whose mtime alone changed, a moved one); for a larger one, digested by its ends, only
        one whose path no longer exists (moved or renamed) or whose archive no longer exists
        (an archive moved, members extracted from it)."""
        rows = self.db.execute(
            "SELECT id, path FROM files WHERE fingerprint = ? AND size = ? AND model_id = ? "
            "AND mode >= ?",
            (fingerprint, size, model_id, MODES[mode]),
        ).fetchall()
        for file_id, raw in rows:
            if size <= WHOLE_LIMIT or not still_there(path_of(raw)):
                return Cached(file_id, self._load(file_id))
        return None

    def _load(self, file_id: int) -> Analysis:
        row = self.db.execute(f"SELECT {DETAIL} FROM files WHERE id = ?", (file_id,)).fetchone()
        return analysis_from_rows(row, self._face_rows(file_id) if row[6] != 0 else [])

    def put(self, item: Item, analysis: Analysis, model_id: str, mode: str) -> int:
        """Store (or replace) the analysis of ``item``; returns its row id. All or nothing: a
        Ctrl-C in the middle never leaves a file row without its faces."""
        self.begin()
        self.db.execute("SAVEPOINT put")
        try:
            file_id = self._write(item, analysis, model_id, mode)
        except BaseException:
            # (a full disk makes SQLite roll the whole transaction back, savepoint and all:
            # the error to report is the first one)
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK TO put")
                self.db.execute("RELEASE put")
            raise
        self.db.execute("RELEASE put")
        return file_id

    def _write(self, item: Item, analysis: Analysis, model_id: str, mode: str) -> int:
        key = key_of(item.path)
        self._written.add(key)
        self.db.execute("DELETE FROM files WHERE path = ?", (key,))
        cur = self.db.execute(
            "INSERT INTO files (path, size, mtime_ns, fingerprint, model_id, mode, error, width, "
            "height, orientation, facts, scanned_at, face_count, stamp) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                key,
                item.size,
                as_stored(item.mtime_ns),
                analysis.fingerprint,
                model_id,
                MODES[mode],
                analysis.error,
                analysis.width,
                analysis.height,
                analysis.orientation,
                json.dumps(analysis.facts, default=str) if analysis.facts else None,
                time.time(),
                len(analysis.faces),
                item.stamp,
            ),
        )
        file_id = int(cur.lastrowid or 0)
        self.db.executemany(
            "INSERT INTO faces (file_id, x1, y1, x2, y2, det_score, landmarks, embedding, time) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    file_id,
                    *f.box,
                    f.det_score,
                    np.asarray(f.landmarks, dtype="<f4").tobytes(),
                    None if f.embedding is None else f.embedding.astype("<f4").tobytes(),
                    f.time,
                )
                for f in analysis.faces
            ],
        )
        return file_id

    def forget_missing(self, roots: list[str], seen: set[str], failed: Sequence[str] = ()) -> int:
        """Delete rows under ``roots`` that this scan did not see (deleted or moved away), but
        not those under ``failed``: a folder that could not be listed or an archive that could
        not be opened this time (no permission, a drive gone for a moment) hid its files, it
        did not delete them."""
        kept = [key_of(f) for f in failed]
        removed = 0
        self._window = Window(b"", b"", {})
        self.begin()
        for root in roots:
            base = key_of(root.rstrip("/"))
            # Members (``root!/...``) only under an archive (or what may have been one): a
            # folder "Party!" beside the folder "Party" is not inside it.
            inside = (base + b"/",) if os.path.isdir(root) else (base + b"/", base + b"!/")
            rows = self.db.execute(
                "SELECT id, path FROM files WHERE path >= ? AND path < ?", (base, base + b"\xff")
            ).fetchall()
            gone = [
                (fid,)
                for fid, raw in rows
                if path_of(raw) not in seen
                and (raw == base or raw.startswith(inside))
                and not any(raw == k or raw.startswith((k + b"/", k + b"!/")) for k in kept)
            ]
            self.db.executemany("DELETE FROM files WHERE id = ?", gone)
            removed += len(gone)
        return removed

    def forget_under(self, roots: list[str]) -> int:
        """Delete the rows of ``roots`` and of everything under them (files, archive members);
        returns how many items were forgotten."""
        return self.forget_missing(roots, set())

    def gone(self) -> list[str]:
        """Indexed items that no longer exist: their file, their archive, or their member in
        an archive that is still there."""
        return gone_paths(self.db.execute("SELECT path, stamp FROM files ORDER BY path"))

    def forget_gone(self) -> int:
        """Delete the rows of the items ``gone`` finds; returns how many."""
        gone = self.gone()
        self._window = Window(b"", b"", {})
        self.begin()
        self.db.executemany("DELETE FROM files WHERE path = ?", [(key_of(p),) for p in gone])
        return len(gone)

    def compact(self, wipe: bool = False) -> None:
        """Give the space of forgotten rows back to the file system when it is over a quarter of
        the file and over 1 MB; with ``wipe`` (what a user asked to forget), always. Deleted rows
        are overwritten (``secure_delete``), but a page that still holds other rows keeps the
        bytes of a deleted one in its unused gap when SQLite rebuilds it; rewriting the file
        leaves only what it holds."""
        self.commit()
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.db.execute("PRAGMA page_size").fetchone()[0]
        if wipe or (free * 4 >= pages and free * size > 1_000_000):
            # On a full disk there is no room for the copy VACUUM makes: it stays as large.
            with contextlib.suppress(sqlite3.OperationalError):
                self.db.execute("VACUUM")
                # The log held the pages as they were: emptied, so only the rewrite remains.
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def stats(self) -> dict[str, int]:
        """Counts of indexed items, faces and stored embeddings."""
        files = self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        faces = self.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        embs = self.db.execute("SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL").fetchone()
        return {"files": files, "faces": faces, "embeddings": embs[0]}

    def iter_paths(self) -> Iterator[str]:
        for (raw,) in self.db.execute("SELECT path FROM files ORDER BY path"):
            yield path_of(raw)


def open_index(store: bool) -> Index:
    """The persistent index in the data dir, held for this scan alone, or an in-memory one when
    ``store`` is False."""
    return Index(index_path(), exclusive=True) if store else Index(None)
