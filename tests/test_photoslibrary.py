"""A Mac Photos library: each photo is read once, from its original, or from its largest copy
when the original is not on the Mac ("Optimise Mac Storage"); what is left out is said."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from selfscan.cli import app
from selfscan.photoslibrary import copies_not_read
from selfscan.sources import Walk, iter_items

KEPT = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"  # its original is in the library
CLOUD = "F0E1D2C3-B4A5-4968-8776-655443322110"  # only Photos' copies are on this Mac


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
        "database/Photos.sqlite": b"SQLite format 3\x00" + bytes(100),
    }
    for name, data in files.items():
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_bytes(data)
    return lib


def test_each_photo_is_read_once(samples: dict[str, Path], tmp_path: Path) -> None:
    lib = _library(tmp_path, samples)
    walk = Walk()
    read = sorted(str(Path(i.path).relative_to(lib)) for i in iter_items([tmp_path], walk=walk))
    assert read == [
        f"originals/0/{KEPT}.jpeg",
        f"resources/derivatives/F/{CLOUD}_1_105_c.jpeg",  # the largest copy of the photo
        f"scopes/cloudsharing/data/1/{KEPT}.jpg",
    ]
    assert walk.library_copies == 4
    # A copy named on the command line is read, as any file named is.
    thumb = lib / f"resources/derivatives/masters/0/{KEPT}_4_5005_c.jpeg"
    named = [i.path for i in iter_items([tmp_path, thumb])]
    assert str(thumb) in named and len(named) == 4


def test_copies_not_read_keeps_a_photos_largest_image_and_video() -> None:
    lib = "/Users/jane/Pictures/Photos Library.photoslibrary"
    files = [
        (f"{lib}/resources/renders/A/{CLOUD}_1_201_a.heic", 900, "image"),
        (f"{lib}/resources/derivatives/A/{CLOUD}_1_105_c.jpeg", 400, "image"),
        (f"{lib}/resources/renders/A/{CLOUD}_2_0_a.mov", 3000, "video"),
        (f"{lib}/resources/derivatives/A/{CLOUD}_1_102_o.mov", 2000, "video"),
        (f"{lib}/resources/cpl/cloudsync.noindex/{KEPT}.jpeg", 100, "image"),  # no copy folder
        (f"/elsewhere/resources/derivatives/A/{KEPT}_1_105_c.jpeg", 100, "image"),  # no library
    ]
    assert copies_not_read(files) == {
        f"{lib}/resources/derivatives/A/{CLOUD}_1_105_c.jpeg",
        f"{lib}/resources/derivatives/A/{CLOUD}_1_102_o.mov",
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
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "4 copies Photos made of photos in a Photos library, read from the original" in said
