"""A Mac Photos library (``Photos Library.photoslibrary``): each photo read once.

Photos keeps a photo's original under ``originals/``, named by the photo's UUID
(``originals/4/4A1B…-….heic``; a Live Photo's video is ``…_3.mov`` beside it). Under
``resources/`` it keeps copies it made of the photo, named by the same UUID: previews and
thumbnails (``resources/derivatives/``, ``resources/derivatives/masters/``, ``4A1B…_1_105_c.jpeg``)
and edited versions (``resources/renders/``); the iCloud Shared Library's photos are kept the
same way under ``scopes/momentshared/``. Reading them all would analyse each photo two to
four times and report it as many. With iCloud's "Optimise Mac Storage", though, the original may
not be on the Mac, and a copy is then the only picture of the photo there. So a copy under
``resources/`` is not read when its photo's original is; otherwise only the largest image (and
the largest video) of each photo is read.

Libraries from before macOS 10.15 (``Masters/``, named as the camera named the files) are
read whole.

The library's database (``database/Photos.sqlite``; its ``ZASSET`` table, ``ZGENERICASSET``
on macOS 10.15) names each photo by UUID: ``PhotosLibraries`` gives a photo's file the name it
was imported under (``IMG_1234.HEIC``), when it was taken, where, and whether it is in Recently
Deleted. The database is opened read-only and immutable: nothing is written into the library.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .exportjson import as_geo, as_timestamp

LIBRARY_SUFFIX = ".photoslibrary"
_UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", re.IGNORECASE)
_COPIES = (["derivatives"], ["renders"])  # the folders of resources/ holding copies of photos
DATABASE = ("database", "Photos.sqlite")
_APPLE_EPOCH = 978_307_200  # 2001-01-01, where Core Data counts its times from
_WANTED = ("ZDATECREATED", "ZLATITUDE", "ZLONGITUDE", "ZTRASHEDSTATE")
_MAX_ASSETS = 2_000_000  # rows read from one database (a large library holds 200,000 photos)
# Extensions that name one format (Photos stores ``IMG_0001.JPG`` as ``….jpeg``)
_SAME = {".jpg": ".jpeg", ".jpe": ".jpeg", ".tif": ".tiff", ".heif": ".heic", ".qt": ".mov"}


def _parts(path: str) -> tuple[list[str], int | None]:
    """``path`` split into its names, and the index of the innermost folder among them that is
    a Photos library (None when it is in none)."""
    parts = path.replace(os.altsep, os.sep).split(os.sep) if os.altsep else path.split(os.sep)
    at = next(
        (i for i in range(len(parts) - 2, -1, -1) if parts[i].lower().endswith(LIBRARY_SUFFIX)),
        None,
    )
    return parts, at


def in_library(path: str) -> bool:
    """Whether the file ``path`` is inside a Photos library."""
    return might_hold_library(path) and _parts(path)[1] is not None


def _place(path: str) -> tuple[str, bool, str] | None:
    """``(library, is_original, uuid)`` for a photo's file in a Photos library (its original,
    or a copy Photos made of it); None for any other file."""
    parts, at = _parts(path)
    if at is None:
        return None
    inside = [p.lower() for p in parts[at + 1 : -1]]
    if inside[:2] == ["scopes", "momentshared"]:  # the iCloud Shared Library's photos
        inside = inside[2:]
    original = inside[:1] == ["originals"]
    if not original and not (inside[:1] == ["resources"] and inside[1:2] in _COPIES):
        return None
    found = _UUID.match(parts[-1])
    if found is None:
        return None
    return os.sep.join(parts[: at + 1]), original, found.group().upper()


def copies_not_read(files: Iterable[tuple[str, int, str]]) -> set[str]:
    """Of ``files`` (path, size in bytes, kind: ``image`` or ``video``), the paths of the copies
    Photos made of photos whose original, or a larger copy of the same kind, is among them."""
    originals: set[tuple[str, str]] = set()
    copies: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for path, size, kind in files:
        place = _place(path)
        if place is None:
            continue
        library, original, uuid = place
        if original:
            originals.add((library, uuid))
        else:
            copies.setdefault((library, uuid, kind), []).append((size, path))
    skipped: set[str] = set()
    for (library, uuid, _), found in copies.items():
        found.sort(key=lambda sp: (-sp[0], sp[1]))  # the largest first, then by name
        first = 0 if (library, uuid) in originals else 1
        skipped.update(path for _, path in found[first:])
    return skipped


def might_hold_library(path: str) -> bool:
    """Whether ``path`` may be in a Photos library: a cheap test before ``copies_not_read``."""
    return LIBRARY_SUFFIX in path.lower()


class PhotosLibraries:
    """The Photos libraries a scan meets, each database read on its first photo."""

    def __init__(self) -> None:
        self._assets: dict[str, dict[str, tuple[Any, ...]] | None] = {}

    def facts(self, path: str) -> dict[str, Any] | None:
        """``facts["source"]`` values for a photo's file in a library (``export``, ``title``:
        the name it was imported under, ``taken_time``, ``geo``, ``origin``: ``original``,
        ``copy`` or ``recently_deleted``, ``sidecar``: the database); None for any other file."""
        place = _place(path) if might_hold_library(path) else None
        if place is None:
            return None
        library, original, uuid = place
        facts: dict[str, Any] = {
            "export": "photos_library",
            "origin": "original" if original else "copy",
        }
        database = os.path.join(library, *DATABASE)
        if library not in self._assets:
            self._assets[library] = _read_assets(database)
        row = (self._assets[library] or {}).get(uuid)
        if row is None:
            return facts
        created, lat, lon, trashed, name = row
        if isinstance(created, (int, float)):
            facts["taken_time"] = as_timestamp(created + _APPLE_EPOCH)
        if lat != -180.0 and lon != -180.0:  # Photos' "no location"
            facts["geo"] = as_geo({"latitude": lat, "longitude": lon})
        if trashed == 1:
            facts["origin"] = "recently_deleted"
        if isinstance(name, str) and name:
            facts["title"] = _as_read(name, path)
        facts["sidecar"] = database
        return facts

    def close(self) -> None:
        self._assets.clear()


def _read_assets(database: str) -> dict[str, tuple[Any, ...]] | None:
    """Each photo's row by UUID (the columns this version of Photos has, None for the others),
    read in one pass: one query a photo could scan the table for each where a version keeps no
    index on the UUID. None when the database cannot be read."""
    if not os.path.isfile(database):
        return None
    uri = Path(database).absolute().as_uri() + "?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        table = next((t for t in ("ZASSET", "ZGENERICASSET") if t in tables), None)
        if table is None:
            return None
        have = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if not {"Z_PK", "ZUUID"} <= have:
            return None
        picked = [f"a.{c}" if c in have else "NULL" for c in _WANTED]
        extra = "ZADDITIONALASSETATTRIBUTES"
        more = {r[1] for r in connection.execute(f"PRAGMA table_info({extra})")}
        name, join = "NULL", ""
        if {"ZASSET", "ZORIGINALFILENAME"} <= more:
            name, join = "x.ZORIGINALFILENAME", f"LEFT JOIN {extra} x ON x.ZASSET = a.Z_PK"
        query = f"SELECT a.ZUUID, {', '.join(picked)}, {name} FROM {table} a {join}"
        assets: dict[str, tuple[Any, ...]] = {}
        for uuid, *row in connection.execute(query):
            if isinstance(uuid, str):
                assets.setdefault(uuid.upper(), tuple(row))
            if len(assets) >= _MAX_ASSETS:  # a hostile database: the rest get no names
                break
        return assets
    except sqlite3.Error:
        return None
    finally:
        with contextlib.suppress(sqlite3.Error):
            connection.close()


def _as_read(name: str, path: str) -> str:
    """The name a photo was imported under, with the extension of the file read when that is
    another format: a preview of ``IMG_1234.HEIC`` is ``IMG_1234.jpeg``, a Live Photo's video
    ``IMG_1234.mov``; ``IMG_1234.JPG`` stays as it is."""
    stem, ext = os.path.splitext(name)
    own = os.path.splitext(path)[1]
    ext_l, own_l = ext.lower(), own.lower()
    same = _SAME.get(ext_l, ext_l) == _SAME.get(own_l, own_l)
    return name if same or not own else stem + own
