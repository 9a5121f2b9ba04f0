"""Dates read from file names, the last resort for when a photo was taken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from selfscan.cli import app
from selfscan.exposure import iso_time
from selfscan.filedates import name_time
from selfscan.reports.cardtext import when_text


@pytest.mark.parametrize(
    ("name", "taken"),
    [
        ("IMG_20230715_143210.jpg", "2023-07-15T14:32:10"),
        ("VID_20230715_143210.mp4", "2023-07-15T14:32:10"),
        ("20230715_143210.jpg", "2023-07-15T14:32:10"),
        ("PXL_20230715_143210123.jpg", "2023-07-15T14:32:10Z"),
        ("PXL_20230715_143210123.MP.jpg", "2023-07-15T14:32:10Z"),
        ("IMG-20230715-WA0003.jpg", "2023-07-15"),
        ("Screenshot_2023-07-15-14-32-10.png", "2023-07-15T14:32:10"),
        ("signal-2023-07-15-143210.jpg", "2023-07-15T14:32:10"),
        ("IMG20230715143210.jpg", "2023-07-15T14:32:10"),
        ("Photo 2019.06.01 08.05.09.jpg", "2019-06-01T08:05:09"),
        ("a.zip!/DCIM/IMG_20230715_143210.jpg", "2023-07-15T14:32:10"),
        ("2023-07-15/IMG_1234.jpg", None),  # a folder's name is not the photo's
        ("IMG_1234.jpg", None),
        ("IMG_20231345_101010.jpg", None),  # no 13th month
        ("IMG_20230715_256110.jpg", "2023-07-15"),  # no 25th hour: the date alone
        ("1234567890_20230715_n.jpg", "2023-07-15"),
        ("10150123456789_1234567890_n.jpg", None),  # digits running on are an id
        ("IMG_19850715_101010.jpg", None),  # before digital photos
        ("IMG_20990715_101010.jpg", None),  # after today
        ("44828408_2019081512345678_4876349211062173696_n.jpg", None),  # an id
        ("12345678_201507151234567_1234_n.jpg", None),
        ("3f2a20190815ab9c7d0e1f2a3b4c5d6e.jpg", None),  # a hash
        ("IMG_20000101_000000.jpg", None),  # a reset clock's time
        ("VID20230715143210.mp4", "2023-07-15T14:32:10"),
    ],
)
def test_name_time(name: str, taken: str | None) -> None:
    assert name_time(name) == taken


def test_a_date_alone_reads_without_a_clock() -> None:
    facts = {"taken": "2023-07-15", "taken_source": "file_name"}
    assert when_text(facts) == "2023-07-15; from the file name"


def test_a_reset_camera_clock_is_no_date() -> None:
    assert iso_time("2000:01:01 00:00:00") is None
    assert iso_time("1980:01:01 00:00:00") is None
    assert iso_time("2000:01:01 00:00:07") == "2000-01-01T00:00:07"


def test_a_messaging_app_photo_is_dated_by_its_name(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """A photo a messaging app stripped of EXIF gets its date from its name; a photo whose EXIF
    says when keeps that, and a reset camera clock gives way to the name."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(samples["players"], lib / "IMG-20190715-WA0003.jpg")
    with Image.open(samples["players"]) as im:
        exif = Image.Exif()
        exif[0x8769] = {0x9003: "2018:05:04 10:11:12"}  # DateTimeOriginal
        im.save(lib / "IMG_20230101_090000.jpg", exif=exif)
        exif[0x8769] = {0x9003: "2000:01:01 00:00:00"}
        im.save(lib / "IMG_20220202_080808.jpg", exif=exif)
    runner = CliRunner()
    done = runner.invoke(app, ["enroll", str(samples["yaoming"])])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["find", str(lib), "-f", "json", "--no-progress", "--workers", "1"])
    assert done.exit_code == 0, done.output
    records = {Path(r["path"]).name: r for r in json.loads(done.stdout)["results"]}
    assert {r["status"] for r in records.values()} == {"match"}
    taken = {n: (r["exposure"]["taken"], r["exposure"]["taken_source"]) for n, r in records.items()}
    assert taken == {
        "IMG-20190715-WA0003.jpg": ("2019-07-15", "file_name"),
        "IMG_20230101_090000.jpg": ("2018-05-04T10:11:12", "exif"),
        "IMG_20220202_080808.jpg": ("2022-02-02T08:08:08", "file_name"),
    }
