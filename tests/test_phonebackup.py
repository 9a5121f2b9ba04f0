"""iPhone backups (Finder, iTunes): photos stored under hashed names are found by content and
named by the backup's manifest; the backup is never changed; an encrypted one is said."""

from __future__ import annotations

import hashlib
import json
import os
import plistlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfscan.cli import app
from selfscan.phonebackup import ENCRYPTED
from selfscan.sources import iter_items
from tests.hostile import snapshot

UDID = "00008030-001A2B3C4D5E802E"
FILES = {
    ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG"): "players",
    ("MediaDomain", "Library/SMS/Attachments/4f/15/IMG_1234.jpeg"): "gdp",
    ("AppDomain-com.example.notes", "Documents/notes.sqlite"): None,
}


def _file_id(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()


def _backup(root: Path, samples: dict[str, Path], encrypted: bool = False) -> Path:
    """A backup folder as Finder writes one: hashed files in two-letter folders, Manifest.db
    (in WAL mode, as the phone's backup agent leaves it), Manifest.plist, Info.plist."""
    folder = root / "MobileSync/Backup" / UDID
    folder.mkdir(parents=True)
    rows = []
    for (domain, relative), sample in FILES.items():
        file_id = _file_id(domain, relative)
        path = folder / file_id[:2] / file_id
        path.parent.mkdir(exist_ok=True)
        data = samples[sample].read_bytes() if sample else b"SQLite format 3\x00" + bytes(4000)
        path.write_bytes(data)
        rows.append((file_id, domain, relative, 1, b""))
    stray = "0" * 40  # a file the manifest does not list
    (folder / "00").mkdir(exist_ok=True)
    (folder / "00" / stray).write_bytes(samples["t1"].read_bytes())
    manifest = folder / "Manifest.db"
    if encrypted:
        manifest.write_bytes(bytes(range(256)) * 64)  # what an encrypted manifest looks like
    else:
        db = sqlite3.connect(manifest)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
            "flags INTEGER, file BLOB)"
        )
        db.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
        db.close()
    (folder / "Manifest.plist").write_bytes(plistlib.dumps({"IsEncrypted": encrypted}))
    (folder / "Info.plist").write_bytes(plistlib.dumps({"Device Name": "Jane's iPhone"}))
    return folder


def test_backup_files_are_named_by_the_manifest(samples: dict[str, Path], tmp_path: Path) -> None:
    folder = _backup(tmp_path, samples)
    before = snapshot(tmp_path)
    items = list(iter_items([tmp_path]))
    assert snapshot(tmp_path) == before  # no lock, journal or -shm file written
    assert all(i.error is None for i in items), [i.error for i in items]
    by_name = {Path(i.path).name: i.facts["source"] for i in items}
    assert len(by_name) == 3  # the three photos; the app's database is no photo
    camera = by_name[_file_id("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG")]
    assert camera["export"] == "iphone_backup" and camera["origin"] == "CameraRollDomain"
    assert camera["title"] == "IMG_0001.JPG"
    assert camera["phone_path"] == "Media/DCIM/100APPLE/IMG_0001.JPG"
    assert camera["sidecar"] == str(folder / "Manifest.db")
    sms = by_name[_file_id("MediaDomain", "Library/SMS/Attachments/4f/15/IMG_1234.jpeg")]
    assert (sms["origin"], sms["title"]) == ("MediaDomain", "IMG_1234.jpeg")
    stray = by_name["0" * 40]
    assert stray["export"] is None and stray["phone_path"] is None


def test_an_encrypted_backup_is_said(samples: dict[str, Path], tmp_path: Path) -> None:
    """An encrypted backup's files are unreadable bytes: one error item says why nothing in it
    was found, instead of a silent count of files of no type."""
    folder = _backup(tmp_path, samples, encrypted=True)
    items = list(iter_items([tmp_path]))
    errors = [i for i in items if i.error is not None]
    assert [(i.path, i.error) for i in errors] == [(str(folder / "Manifest.db"), ENCRYPTED)]
    assert all(i.facts["source"]["export"] is None for i in items if i.error is None)


@pytest.mark.parametrize(
    "plist",
    [
        b'<?xml version="1.0"?><plist><dict><key>IsEncrypted</key>',  # an interrupted backup's
        b"<plist><dict><key>IsEncrypted</key><date>garbage</date></dict></plist>",
        b"<plist>" + b"<array>" * 50_000,
        b"bplist00" + bytes(range(256)),
        "fifo",
    ],
    ids=["truncated", "bad-date", "deep", "binary-garbage", "fifo"],
)
def test_a_damaged_backup_is_scanned_on(
    samples: dict[str, Path], tmp_path: Path, plist: bytes | str
) -> None:
    """A backup whose manifest and Manifest.plist are damaged (or a pipe): its photos are still
    found by their content, and nothing stops the scan."""
    folder = _backup(tmp_path, samples)
    (folder / "Manifest.db").write_text("not a database")
    (folder / "Manifest.plist").unlink()
    if plist == "fifo":
        os.mkfifo(folder / "Manifest.plist")
    else:
        (folder / "Manifest.plist").write_bytes(plist)  # type: ignore[arg-type]
    items = list(iter_items([tmp_path]))
    assert [i.error for i in items if i.error] == []
    assert len(items) == 3 and all(i.facts["source"]["export"] is None for i in items)


def test_a_manifest_db_of_another_program_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "Manifest.db").write_text("not a database")
    other = tmp_path / "sub" / "Manifest.db"
    other.parent.mkdir()
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert [i for i in iter_items([tmp_path]) if i.error] == []


def test_find_in_a_backup_reports_where_the_photo_was_on_the_phone(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """End to end: he is found in the backup's camera roll, and the record and the report's
    card say which file that was on the phone."""
    _backup(tmp_path / "backups", samples)
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["find", "--me", str(samples["yaoming"]), str(tmp_path / "backups"),
         "--format", "json", "-o", "-", "--no-progress", "--workers", "1"],
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)["results"]
    (match,) = [r for r in records if r["status"] == "match"]
    assert match["facts"]["source"]["phone_path"] == "Media/DCIM/100APPLE/IMG_0001.JPG"
    assert match["exposure"]["phone_path"] == "Media/DCIM/100APPLE/IMG_0001.JPG"
    gathered = tmp_path / "me"
    result = CliRunner().invoke(
        app,
        ["find", "--me", str(samples["yaoming"]), str(tmp_path / "backups"),
         "-o", str(report), "--no-progress", "--workers", "1", "--copy-to", str(gathered)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "<dt>On the phone</dt><dd>Media/DCIM/100APPLE/IMG_0001.JPG</dd>" in html
    assert "iPhone backup" in html
    assert "<h3>IMG_0001.JPG</h3>" in html  # the card is named as on the phone, not by its hash
    # gathered under its name on the phone, not its hash (no viewer opens a file without one)
    copied = sorted(p.name for p in gathered.iterdir() if not p.name.startswith("."))
    assert copied == ["IMG_0001.JPG"], copied
    assert (gathered / "IMG_0001.JPG").read_bytes() == samples["players"].read_bytes()


@pytest.mark.parametrize("name", ["manifest.db", "Manifest.db.bak"])
def test_only_a_manifest_by_its_own_name(
    samples: dict[str, Path], tmp_path: Path, name: str
) -> None:
    folder = _backup(tmp_path, samples)
    (folder / "Manifest.db").rename(folder / name)
    items = list(iter_items([tmp_path]))
    assert all(i.facts["source"]["export"] is None for i in items)
