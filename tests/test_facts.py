"""Photo facts from headers: real photos given EXIF, garbage that must never raise, no decoding."""

from __future__ import annotations

import io
import struct
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from PIL.TiffImagePlugin import IFDRational

from selfscan.facts import KEYS, photo_facts
from tests.hostile import build_hostile_corpus, exif_block, garbage_gps_exif


@pytest.fixture(scope="module")
def face(samples: dict[str, Path]) -> Image.Image:
    return Image.open(samples["yaoming"]).convert("RGB")


def _save(im: Image.Image, exif: Image.Exif | None = None, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    if exif is None:
        im.save(buf, fmt)
    else:
        im.save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def _exif(**gps: object) -> Image.Exif:
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825).update({int(k[1:]): v for k, v in gps.items()})
    return exif


def test_full_exif(face: Image.Image) -> None:
    exif = _exif(
        g1="S",
        g2=(IFDRational(33, 1), IFDRational(51, 1), IFDRational(3546, 100)),
        g3="E",
        g4=(151.0, 12.0, 30.0),
        g5=1,
        g6=IFDRational(125, 10),
    )
    exif[0x010F] = "Canon\x00  "
    exif[0x0110] = " EOS R5 "
    exif[0x0112] = 6
    exif[0x0132] = "2020:01:01 00:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2019:07:14 18:03:22"
    sub[0x9011] = "+02:00"
    sub[0x9291] = "047 "
    data = _save(face, exif)
    facts = photo_facts(data)
    assert set(facts) == set(KEYS)
    assert facts["captured_at"] == "2019-07-14T18:03:22+02:00"
    assert facts["captured_subsec"] == "047"
    assert facts["gps"] == {
        "latitude": pytest.approx(-(33 + 51 / 60 + 35.46 / 3600), abs=1e-6),
        "longitude": pytest.approx(151 + 12 / 60 + 30 / 3600, abs=1e-6),
        "altitude": -12.5,
    }
    assert facts["camera"] == {"make": "Canon", "model": "EOS R5"}
    assert (facts["width"], facts["height"]) == (287, 233)
    assert (facts["stored_width"], facts["stored_height"]) == (233, 287)
    assert facts["orientation"] == 6
    assert facts["format"] == "JPEG"
    assert facts["file_size"] == len(data)
    assert facts["error"] is None


def test_north_west_altitude_without_ref(face: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "walk.jpg"
    path.write_bytes(_save(face, _exif(g1="N", g2=(40.5,), g3="W", g4=(79, 58.5), g6=300.0)))
    facts = photo_facts(path)
    assert facts["gps"] == {"latitude": 40.5, "longitude": pytest.approx(-79.975), "altitude": 300}
    assert facts["file_size"] == path.stat().st_size
    assert facts["captured_at"] is None and facts["camera"] is None


def test_datetime_fallback_and_bad_dates(face: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0132] = "2021:12:31 23:59:58"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "0000:00:00 00:00:00"
    sub[0x9010] = "-05:30"
    sub[0x9011] = "+99:00"
    assert photo_facts(_save(face, exif))["captured_at"] == "2021-12-31T23:59:58-05:30"
    exif[0x0132] = "    :  :     :  :  "
    assert photo_facts(_save(face, exif))["captured_at"] is None
    sub[0x9003] = "2018:02:03 04:05:06"
    assert photo_facts(_save(face, exif))["captured_at"] == "2018-02-03T04:05:06"
    sub[0x9003] = "2019-07-14T18:30:05"  # the ISO form some editors write
    assert photo_facts(_save(face, exif))["captured_at"] == "2019-07-14T18:30:05"
    # A clock never set, or set years ahead: no capture time (an export's date is used)
    for unset in (
        "9999:12:31 23:59:59",
        "1801:01:01 00:00:00",
        f"{date.today().year + 2}:01:01 12:00:00",
    ):
        sub[0x9003] = unset
        exif[0x0132] = unset
        assert photo_facts(_save(face, exif))["captured_at"] is None, unset


def test_wrong_value_types(face: Image.Image) -> None:
    block = exif_block(
        [
            (0x010F, 4, 1, struct.pack("<I", 12345)),  # make as a number
            (0x0110, 2, 8, b"Pixel 7\0"),
            (0x0132, 2, 6, b"never\0"),
        ],
        exif=[(0x9003, 4, 1, struct.pack("<I", 20190714))],  # a number, not a date
        gps=[
            (1, 3, 1, struct.pack("<H", 5)),  # hemisphere as a number
            (2, 2, 6, b"forty\0"),  # latitude as text
            (3, 2, 2, b"E\0"),
            (4, 3, 4, struct.pack("<4H", 1, 2, 3, 4)),  # four parts
        ],
    )
    buf = io.BytesIO()
    face.save(buf, "JPEG", exif=block)
    facts = photo_facts(buf.getvalue())
    assert facts["error"] is None
    assert facts["gps"] is None and facts["captured_at"] is None
    assert facts["camera"] == {"make": None, "model": "Pixel 7"}


def test_garbage_gps_rationals(face: Image.Image) -> None:
    facts = photo_facts(garbage_gps_exif(face))
    assert facts["error"] is None and facts["gps"] is None
    assert facts["width"] == 233


def test_out_of_range_and_null_island(face: Image.Image) -> None:
    for gps in (
        {"g1": "N", "g2": (95.0, 0.0, 0.0), "g3": "E", "g4": (10.0, 0.0, 0.0)},
        {"g1": "N", "g2": (0.0, 0.0, 0.0), "g3": "E", "g4": (0.0, 0.0, 0.0)},
        {"g1": "N", "g2": (10.0, 0.0, 0.0), "g3": "E", "g4": (181.0, 0.0, 0.0)},
        {"g2": (10.0, 0.0, 0.0)},
        {"g1": "N", "g2": (10.0, 75.0, 0.0), "g3": "E", "g4": (20.0, 0.0, 0.0)},  # 75 minutes
        {"g1": "N", "g2": (10.0, 0.0, 0.0), "g3": "E", "g4": (20.0, 0.0, 60.0)},  # 60 seconds
    ):
        assert photo_facts(_save(face, _exif(**gps)))["gps"] is None
    gps = {"g2": (10.0, 0.0, 0.0), "g4": (20.0, 0.0, 0.0), "g5": 7, "g6": 5.0}
    assert photo_facts(_save(face, _exif(**gps)))["gps"] == {
        "latitude": 10.0,
        "longitude": 20.0,
        "altitude": None,
    }


def test_no_exif(face: Image.Image) -> None:
    facts = photo_facts(_save(face))
    assert facts == {
        **dict.fromkeys(KEYS),
        "width": 233,
        "height": 287,
        "stored_width": 233,
        "stored_height": 287,
        "orientation": 1,
        "format": "JPEG",
        "file_size": facts["file_size"],
        "frames": 1,
    }


def test_pages_frames_and_images_are_counted(face: Image.Image) -> None:
    """Only the first page, frame or image is scanned: the facts say how many there are."""
    other = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for fmt in ("TIFF", "GIF", "WEBP", "PNG", "MPO"):
        buf = io.BytesIO()
        face.save(buf, fmt, save_all=True, append_images=[other, face])
        assert photo_facts(buf.getvalue())["frames"] == 3, fmt
    # A phone's Ultra HDR JPEG carries a gain map, a smaller grey image, as its second image:
    # no second photo ("only the first was scanned" on most new phones' photos).
    buf = io.BytesIO()
    gain_map = face.convert("L").resize((face.width // 4, face.height // 4))
    face.save(buf, "MPO", save_all=True, append_images=[gain_map])
    assert photo_facts(buf.getvalue())["frames"] == 1
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    face.save(buf, "HEIF", save_all=True, append_images=[other])
    assert photo_facts(buf.getvalue())["frames"] == 2


def test_png_exif_before_pixels(face: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x0110] = "Scanner"
    facts = photo_facts(_save(face, exif, "PNG"))
    assert facts["orientation"] == 8 and facts["camera"] == {"make": None, "model": "Scanner"}
    assert (facts["width"], facts["height"]) == (287, 233)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_tiff_sizes_turned_once(face: Image.Image, orientation: int) -> None:
    """Pillow gives a TIFF's size already upright: the sizes were swapped a second time (a
    photo stored 287x233 with orientation 6 said stored 233x287, upright 287x233)."""
    stored = face.transpose(Image.Transpose.ROTATE_90)  # 287 x 233
    buf = io.BytesIO()
    stored.save(buf, "TIFF", tiffinfo={0x0112: orientation})
    facts = photo_facts(buf.getvalue())
    assert facts["format"] == "TIFF" and facts["orientation"] == orientation
    assert (facts["stored_width"], facts["stored_height"]) == (287, 233)
    upright = (287, 233) if orientation == 3 else (233, 287)
    assert (facts["width"], facts["height"]) == upright


def test_heic_orientation(face: Image.Image) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2022:05:06 07:08:09"
    buf = io.BytesIO()
    face.transpose(Image.Transpose.ROTATE_90).save(buf, "HEIF", exif=exif.tobytes())
    facts = photo_facts(buf.getvalue())
    assert facts["format"] == "HEIF" and facts["orientation"] == 6
    assert (facts["width"], facts["height"]) == (233, 287)
    assert (facts["stored_width"], facts["stored_height"]) == (287, 233)
    assert facts["captured_at"] == "2022-05-06T07:08:09"


def test_reads_no_pixels(face: Image.Image, tmp_path: Path, monkeypatch) -> None:
    exif = Image.Exif()
    exif[0x0112] = 3
    big = face.resize((2000, 2400))
    inputs = [_save(big, exif), _save(big, exif, "PNG"), _save(big, None, "WEBP")]

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    for data in inputs:
        facts = photo_facts(data)
        assert facts["error"] is None and facts["width"] == 2000, facts


def test_never_raises_on_the_corpus(tmp_path: Path, samples: dict[str, Path]) -> None:
    expected = build_hostile_corpus(tmp_path, samples)
    paths = [tmp_path / rel for rel in expected]
    paths += [tmp_path / "images", tmp_path / "nowhere.jpg", tmp_path / "fs/loop/again"]
    for path in paths:
        facts = photo_facts(path)
        assert set(facts) == set(KEYS)
        if facts["error"] is not None:
            assert facts["width"] is None and isinstance(facts["error"], str)
    assert photo_facts(tmp_path / "images/empty.jpg")["error"] == "empty file (0 bytes)"
    assert "HTML" in photo_facts(tmp_path / "images/page.png")["error"]
    assert photo_facts(tmp_path / "images/bomb_header.png")["width"] == 40000
    assert photo_facts(b"")["error"]
    assert photo_facts(b"\x00" * 100)["error"]


def test_an_oversized_text_tag_is_cut(face: Image.Image) -> None:
    """A 60 KB camera make would be copied into the index and every report."""
    exif = _exif()
    exif[0x010F] = "M" * 60_000
    exif[0x0110] = "EOS R5"
    camera = photo_facts(_save(face, exif))["camera"]
    assert len(camera["make"]) == 200 and camera["make"].endswith("…")
    assert camera["model"] == "EOS R5"
