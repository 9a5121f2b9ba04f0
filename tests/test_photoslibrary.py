"""A Mac Photos library: each photo is read once, from its original, or from its largest copy
when the original is not on the Mac ("Optimise Mac Storage"); what is left out is said."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from selfscan.cli import app
from selfscan.photoslibrary import PhotosLibraries, copies_not_read
from selfscan.render import left_out_line
from selfscan.sources import Walk, iter_items
from tests.hostile import snapshot

KEPT = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"  # its original is in the library
CLOUD = "F0E1D2C3-B4A5-4968-8776-655443322110"  # only Photos' copies are on this Mac
TRASHED = "11111111-2222-4333-8444-555555555555"  # in Recently Deleted
# 2019-07-01 12:00:00 UTC, as Core Data counts (seconds since 2001-01-01)
CREATED = 1_561_982_400 - 978_307_200


def _database(path: Path, table: str = "ZASSET") -> None:
    """Photos.sqlite's tables as far as selfscan reads them, in WAL mode as Photos leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        f"CREATE TABLE {table} (Z_PK INTEGER PRIMARY KEY, ZUUID VARCHAR, ZDIRECTORY VARCHAR, "
        "ZFILENAME VARCHAR, ZDATECREATED TIMESTAMP, ZLATITUDE FLOAT, ZLONGITUDE FLOAT, "
        "ZTRASHEDSTATE INTEGER)"
    )
    db.execute(
        "CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, ZASSET INTEGER, "
        "ZORIGINALFILENAME VARCHAR)"
    )
    rows = [
        (1, KEPT, "0", f"{KEPT}.jpeg", CREATED, 48.8584, 2.2945, 0, "IMG_0001.JPG"),
        (2, CLOUD, "F", f"{CLOUD}.heic", CREATED + 60, -180.0, -180.0, 0, "IMG_0002.HEIC"),
        (3, TRASHED, "1", f"{TRASHED}.jpeg", None, None, None, 1, "IMG_0003.JPG"),
    ]
    for pk, uuid, folder, name, created, lat, lon, trashed, original in rows:
        db.execute(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (pk, uuid, folder, name, created, lat, lon, trashed),
        )
        db.execute("INSERT INTO ZADDITIONALASSETATTRIBUTES VALUES (?, ?, ?)", (pk, pk, original))
    db.commit()
    db.close()


def _jpeg(path: Path, scale: float = 1.0) -> bytes:
    im = Image.open(path).convert("RGB")
    if scale != 1.0:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _library(root: Path, samples: dict[str, Path]) -> Path:
    """A library as Photos writes one (macOS 10.15 and later): originals named by UUID, and
    previews, thumbnails and edits of them under resources/."""
    lib = root / "Photos Library.photoslibrary"
    files = {
        f"originals/0/{KEPT}.jpeg": samples["yaoming"].read_bytes(),
        f"resources/derivatives/0/{KEPT}_1_105_c.jpeg": _jpeg(samples["yaoming"], 0.8),
        f"resources/derivatives/masters/0/{KEPT}_4_5005_c.jpeg": _jpeg(samples["yaoming"], 0.5),
        f"resources/renders/0/{KEPT}_1_201_a.jpeg": _jpeg(samples["yaoming"], 0.9),
        f"resources/derivatives/F/{CLOUD}_1_105_c.jpeg": _jpeg(samples["players"], 0.8),
        f"resources/derivatives/masters/F/{CLOUD}_4_5005_c.jpeg": _jpeg(samples["players"], 0.3),
        # Shared albums' photos, named by UUID too, are no copies of the library's own.
        f"scopes/cloudsharing/data/1/{KEPT}.jpg": samples["gdp"].read_bytes(),
        f"originals/1/{TRASHED}.jpeg": _jpeg(samples["gdp"], 0.5),
        # Photos' own files: edit settings, journals, its private data
        f"resources/renders/0/{KEPT}.plist": b"bplist00",
        "resources/journals/Asset-change.plj": b"\0" * 16,
        "private/com.apple.Photos/appPrivateData.plist": b"bplist00",
    }
    for name, data in files.items():
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_bytes(data)
    _database(lib / "database/Photos.sqlite")
    return lib


def test_each_photo_is_read_once(samples: dict[str, Path], tmp_path: Path) -> None:
    lib = _library(tmp_path, samples)
    walk = Walk()
    read = sorted(str(Path(i.path).relative_to(lib)) for i in iter_items([tmp_path], walk=walk))
    assert read == [
        f"originals/0/{KEPT}.jpeg",
        f"originals/1/{TRASHED}.jpeg",
        f"resources/derivatives/F/{CLOUD}_1_105_c.jpeg",  # the largest copy of the photo
        f"scopes/cloudsharing/data/1/{KEPT}.jpg",
    ]
    assert walk.library_copies == 4
    # Photos' own files (and its database) are counted apart from files of other types.
    assert walk.library_files == 4 and walk.other == {}
    (tmp_path / "notes.txt").write_text("not a photo")
    walk = Walk()
    list(iter_items([tmp_path], walk=walk))
    assert walk.library_files == 4 and walk.other == {".txt": 1}
    line = left_out_line(walk)
    assert "1 file of other types (.txt 1)" in line
    assert "4 files Photos keeps for itself" in line
    # A copy named on the command line is read, as any file named is.
    thumb = lib / f"resources/derivatives/masters/0/{KEPT}_4_5005_c.jpeg"
    named = [i.path for i in iter_items([tmp_path, thumb])]
    assert str(thumb) in named and len(named) == 5


def test_the_database_names_and_dates_each_photo(samples: dict[str, Path], tmp_path: Path) -> None:
    lib = _library(tmp_path, samples)
    before = snapshot(tmp_path)
    items = {str(Path(i.path).relative_to(lib)): i.facts["source"] for i in iter_items([lib])}
    assert snapshot(tmp_path) == before  # no lock, journal or -shm file written
    kept = items[f"originals/0/{KEPT}.jpeg"]
    assert kept["export"] == "photos_library" and kept["origin"] == "original"
    assert kept["title"] == "IMG_0001.JPG"
    assert kept["taken_time"] == 1_561_982_400
    assert kept["geo"] == {"latitude": 48.8584, "longitude": 2.2945, "altitude": None}
    assert kept["sidecar"] == str(lib / "database/Photos.sqlite")
    cloud = items[f"resources/derivatives/F/{CLOUD}_1_105_c.jpeg"]
    assert cloud["origin"] == "copy" and cloud["geo"] is None  # -180: no location
    assert cloud["title"] == "IMG_0002.jpeg"  # the name imported, as the file read is a JPEG
    trashed = items[f"originals/1/{TRASHED}.jpeg"]
    assert trashed["origin"] == "recently_deleted" and trashed["taken_time"] is None
    shared = items[f"scopes/cloudsharing/data/1/{KEPT}.jpg"]
    assert shared["export"] is None and shared["title"] is None  # not the library's own


@pytest.mark.parametrize("kind", ["generic", "damaged", "missing"])
def test_other_databases(samples: dict[str, Path], tmp_path: Path, kind: str) -> None:
    """macOS 10.15 names the table ZGENERICASSET; a damaged or missing database loses only the
    names and dates: the photos are still read."""
    lib = _library(tmp_path, samples)
    database = lib / "database/Photos.sqlite"
    database.unlink()
    if kind == "generic":
        _database(database, "ZGENERICASSET")
    elif kind == "damaged":
        database.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    libraries = PhotosLibraries()
    facts = libraries.facts(str(lib / f"originals/0/{KEPT}.jpeg"))
    libraries.close()
    assert facts is not None and facts["export"] == "photos_library"
    assert facts.get("title") == ("IMG_0001.JPG" if kind == "generic" else None)
    assert libraries.facts(str(tmp_path / f"{KEPT}.jpeg")) is None  # not in a library


def test_copies_not_read_keeps_a_photos_largest_image_and_video() -> None:
    lib = "/Users/jane/Pictures/Photos Library.photoslibrary"
    files = [
        (f"{lib}/resources/renders/A/{CLOUD}_1_201_a.heic", 900, "image"),
        (f"{lib}/resources/derivatives/A/{CLOUD}_1_105_c.jpeg", 400, "image"),
        (f"{lib}/resources/renders/A/{CLOUD}_2_0_a.mov", 3000, "video"),
        (f"{lib}/resources/derivatives/A/{CLOUD}_1_102_o.mov", 2000, "video"),
        (f"{lib}/resources/cpl/cloudsync.noindex/{KEPT}.jpeg", 100, "image"),  # no copy folder
        # the iCloud Shared Library's photos are kept alike
        (f"{lib}/scopes/momentshared/originals/B/{TRASHED}.heic", 900, "image"),
        (f"{lib}/scopes/momentshared/resources/derivatives/B/{TRASHED}_1_105_c.jpeg", 99, "image"),
        (f"{lib}/scopes/cloudsharing/resources/derivatives/B/{KEPT}_1_105_c.jpeg", 9, "image"),
        (f"/elsewhere/resources/derivatives/A/{KEPT}_1_105_c.jpeg", 100, "image"),  # no library
    ]
    assert copies_not_read(files) == {
        f"{lib}/resources/derivatives/A/{CLOUD}_1_105_c.jpeg",
        f"{lib}/resources/derivatives/A/{CLOUD}_1_102_o.mov",
        f"{lib}/scopes/momentshared/resources/derivatives/B/{TRASHED}_1_105_c.jpeg",
    }


def test_find_in_a_library_reports_each_photo_once(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """End to end: he is found once in the library, not once per copy Photos made, and the
    summary says what was left out."""
    _library(tmp_path / "Pictures", samples)
    args = ["find", "--me", str(samples["yaoming"]), str(tmp_path / "Pictures"),
            "--no-progress", "--workers", "1"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    matches = [Path(r["path"]).name for r in document["results"] if r["status"] == "match"]
    assert sorted(matches) == [f"{KEPT}.jpeg", f"{CLOUD}_1_105_c.jpeg"]
    assert document["summary"]["left_out"]["library_copies"] == 4
    assert document["summary"]["left_out"]["library_files"] == 4
    gathered, report = tmp_path / "me", tmp_path / "report.html"
    more = ["--copy-to", str(gathered), "-o", str(report)]
    result = CliRunner().invoke(app, [*args, *more], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "4 copies Photos made of photos in a Photos library, read from the original" in said
    html = report.read_text(encoding="utf-8")
    assert "<h3>IMG_0001.JPG</h3>" in html and "Photos library" in html  # not by its UUID
    assert "(Photos library, a copy Photos made of it, similarity" in html  # the iCloud photo
    copied = sorted(p.name for p in gathered.iterdir() if not p.name.startswith("."))
    assert copied == ["IMG_0001.JPG", "IMG_0002.jpeg"], copied
