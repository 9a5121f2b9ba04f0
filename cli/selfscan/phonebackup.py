"""iPhone backups made by Finder or iTunes: what each file of one was on the phone.

A backup folder (``~/Library/Application Support/MobileSync/Backup/<device id>`` on a Mac,
``%APPDATA%\\Apple Computer\\MobileSync\\Backup\\<device id>`` or
``%USERPROFILE%\\Apple\\MobileSync\\Backup\\<device id>`` on Windows) holds the phone's files
under their SHA-1 ``fileID``, with no extension (``ab/ab12…``), and ``Manifest.db``: an SQLite
database whose ``Files`` table gives each ``fileID`` its ``domain`` (``CameraRollDomain``, an
app's ``AppDomain-…``, ``MediaDomain`` for Messages' attachments) and ``relativePath`` on the
phone. The photos are found by their content like any file without an extension; this names
them. An encrypted backup's files and manifest cannot be read: said once, as a problem item.

``Manifest.db`` is opened immutable (SQLite writes nothing, not even a lock or a ``-shm``
file): the backup is the user's and is never changed.
"""

from __future__ import annotations

import os
import plistlib
import re
import sqlite3
from pathlib import Path
from typing import Any

from .errors import FileError
from .fingerprints import open_regular
from .types import Item

MANIFEST = "Manifest.db"
# Manifest.plist lists the phone's apps with their metadata: a few MB at most
_MAX_PLIST = 64 * 1024 * 1024
_FILE_ID = re.compile(r"[0-9a-f]{40}")
_SQLITE = b"SQLite format 3\x00"

ENCRYPTED = (
    "an encrypted iPhone backup: selfscan cannot read its files (it does not decrypt backups); "
    "scan the photos themselves instead, exported from the phone or its photo library"
)


class PhoneBackups:
    """The iPhone backups among the folders scanned, by the ``Manifest.db`` files found."""

    def __init__(self, manifests: list[str]) -> None:
        self._open: dict[str, sqlite3.Connection] = {}  # backup folder -> its manifest
        self.problems: list[tuple[str, str]] = []
        for manifest in manifests:
            folder = os.path.dirname(manifest)
            try:
                connection = _connect(manifest)
            except (OSError, sqlite3.Error) as exc:
                if _encrypted(folder):
                    self.problems.append((manifest, ENCRYPTED))
                elif _is_sqlite(manifest):  # another program's database of that name: not ours
                    self.problems.append((manifest, f"unreadable iPhone backup manifest: {exc}"))
                continue
            if connection is not None:
                self._open[folder] = connection

    def facts(self, path: str) -> dict[str, Any] | None:
        """``facts["source"]`` values for a file of a backup (``export``, ``origin``: its
        domain, ``title``: its name on the phone, ``phone_path``, ``sidecar``: the manifest),
        None for any other file or one the manifest does not list."""
        sub, name = os.path.split(path)
        folder, bucket = os.path.split(sub)
        if folder not in self._open or not _FILE_ID.fullmatch(name) or name[:2] != bucket:
            return None
        try:
            row = (
                self._open[folder]
                .execute("SELECT domain, relativePath FROM Files WHERE fileID = ?", (name,))
                .fetchone()
            )
        except sqlite3.Error:
            return None
        if row is None or not isinstance(row[1], str) or not row[1]:
            return None
        domain, relative = row
        return {
            "export": "iphone_backup",
            "origin": domain if isinstance(domain, str) and domain else None,
            "title": relative.rpartition("/")[2],
            "phone_path": relative,
            "sidecar": os.path.join(folder, MANIFEST),
        }

    def problem_items(self) -> list[Item]:
        """An error item for each backup that could not be read (an encrypted one)."""
        return [Item(where, 0, 0, error=error) for where, error in self.problems]

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def _connect(manifest: str) -> sqlite3.Connection | None:
    """The manifest, read-only and immutable; None when it is an SQLite database without a
    ``Files`` table (another program's). Raises for one that is not a database at all."""
    uri = Path(manifest).absolute().as_uri() + "?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True)
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(Files)")}
    except sqlite3.Error:
        connection.close()
        raise
    if not {"fileID", "domain", "relativePath"} <= columns:
        connection.close()
        return None
    return connection


def _is_sqlite(path: str) -> bool:
    try:
        with open_regular(path) as fh:
            return fh.read(len(_SQLITE)) == _SQLITE
    except (OSError, FileError):
        return False


def _encrypted(folder: str) -> bool:
    """Whether the backup's ``Manifest.plist`` says it is encrypted. A damaged, hostile or
    outsized one (an interrupted backup's) says nothing."""
    try:
        with open_regular(os.path.join(folder, "Manifest.plist")) as fh:
            data = fh.read(_MAX_PLIST + 1)
    except (OSError, FileError):
        return False
    if len(data) > _MAX_PLIST:
        return False
    try:
        info = plistlib.loads(data)
    except Exception:  # any damage (truncated XML, a bad date, deep nesting): not readable
        return False
    return isinstance(info, dict) and info.get("IsEncrypted") is True
