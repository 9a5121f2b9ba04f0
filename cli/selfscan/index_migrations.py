"""The index's schema, as numbered migrations, and the function that applies them.

Kept apart from :mod:`selfscan.index` so that the schema's history reads in one place:
``MIGRATIONS[n - 1]`` takes the database from ``PRAGMA user_version`` n - 1 to n. A schema
change is a new migration appended to the list, so an existing index is upgraded in place.
"""

from __future__ import annotations

import sqlite3

from .errors import StoreError

# Numbered migrations: MIGRATIONS[n - 1] takes the schema from version n - 1 to n.
MIGRATIONS: list[str] = [
    """
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,  -- file-system bytes: names need not be UTF-8
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            fingerprint TEXT,
            model_id TEXT NOT NULL,
            mode INTEGER NOT NULL,
            error TEXT,
            width INTEGER,
            height INTEGER,
            orientation INTEGER NOT NULL DEFAULT 1,
            facts TEXT,
            scanned_at REAL NOT NULL
        );
        CREATE INDEX files_fingerprint ON files(fingerprint, size);
        CREATE TABLE faces (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            x1 REAL, y1 REAL, x2 REAL, y2 REAL,
            det_score REAL NOT NULL,
            landmarks BLOB NOT NULL,
            embedding BLOB,
            time REAL
        );
        CREATE INDEX faces_file ON faces(file_id);
    """,
    # 2: how many faces a file has, so that a rescan skips the faces query for most photos
    """
        ALTER TABLE files ADD COLUMN face_count INTEGER;
        UPDATE files SET face_count = (SELECT COUNT(*) FROM faces WHERE file_id = files.id);
    """,
    # 3: a content stamp (inode and ctime, or a zip member's CRC) beside size and mtime, so that
    # a change that keeps both (an edit that restores the mtime, a same-size swap) is noticed
    """
        ALTER TABLE files ADD COLUMN stamp TEXT;
    """,
]


def migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations ``db`` has not had yet, each in its own transaction with its
    version number, so an interrupted upgrade resumes at the first one not committed."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the index was written by a newer selfscan (schema {version}; this one knows "
            f"{len(MIGRATIONS)}): upgrade selfscan, or start again with 'selfscan forget --index'"
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        db.executescript(f"BEGIN IMMEDIATE; {migration}; PRAGMA user_version={number}; COMMIT;")
