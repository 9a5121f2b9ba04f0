"""A Takeout split in two zips (every sidecar naming quirk, edited copies, a HEIC photo, a short
video) and a Facebook folder, scanned by the CLI into an HTML report, copies and XMP sidecars."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan.names import GATHERED_MARKER
from tests import exportgen
from tests.child import selfscan

YEAR = "Takeout/Google Photos/Photos from 2019/"


def heic_bytes(photo: Path) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").save(buf, "HEIF", quality=90)
    return buf.getvalue()


def video_bytes(path: Path, first: Path, second: Path) -> bytes:
    """3 s at 10 fps: one second of ``first``, then two of ``second``."""
    av = pytest.importorskip("av")

    def canvas(photo: Path) -> np.ndarray:
        frame = Image.new("RGB", (1280, 720), (90, 120, 100))
        im = Image.open(photo).convert("RGB")
        im.thumbnail((1260, 700))
        frame.paste(im, (10, 10))
        return np.asarray(frame)

    frames = [canvas(first)] * 10 + [canvas(second)] * 20
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    out = av.open(str(path), "w")
    stream = out.add_stream(codec, rate=10)
    stream.height, stream.width = 720, 1280
    stream.pix_fmt = "yuv420p"
    for i, pixels in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame.pts = i
        frame.time_base = Fraction(1, 10)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]) -> dict:
    root = tmp_path_factory.mktemp("exports")
    photos = {"a_players": samples["players"].read_bytes(), "b_gdp": samples["gdp"].read_bytes()}
    takeout = exportgen.build_takeout(root / "takeout", photos)
    facebook = exportgen.build_facebook(root / "facebook", photos)
    extra = {
        YEAR + "IMG_0200.HEIC": heic_bytes(samples["players"]),
        YEAR + "IMG_0200.HEIC.supplemental-metadata.json": json.dumps(
            {
                "title": "IMG_0200.HEIC",
                "photoTakenTime": {"timestamp": "1561000000"},
                "geoData": {"latitude": 48.85, "longitude": 2.35, "altitude": 35.0},
            }
        ).encode(),
        YEAR + "VID_0300.mp4": video_bytes(root / "clip.mp4", samples["gdp"], samples["players"]),
    }
    with zipfile.ZipFile(takeout.archives[1], "a") as part:
        for name, data in extra.items():
            part.writestr(name, data)
    return {"takeout": takeout, "facebook": facebook, "root": root}


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return selfscan(*args, env={**os.environ, "SELFSCAN_HOME": str(home)})


def test_exports_report_copies_and_sidecars(
    exports: dict, samples: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    takeout, facebook = exports["takeout"], exports["facebook"]
    inputs = [str(p) for p in takeout.archives] + [str(facebook.folder)]
    report, copies = tmp_path / "report.html", tmp_path / "me"
    done = run(["enroll", str(samples["yaoming"])], home)
    assert done.returncode == 0, done.stderr
    done = run(
        [
            "find",
            *inputs,
            "--format",
            "html",
            "-o",
            str(report),
            "--copy-to",
            str(copies),
            "--xmp",
            "--no-progress",
        ],
        home,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    gathered = " ".join((done.stdout + done.stderr).split())

    done = run(["find", *inputs, "--format", "json", "--no-progress"], home)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    records = {r["path"]: r for r in document["results"]}

    # every Takeout photo holding the team photo matches, wherever its sidecar sits
    for member, sample in takeout.photos.items():
        hits = [r for p, r in records.items() if p.endswith("!/" + member)]
        assert len(hits) == 1, member
        assert hits[0]["status"] == ("match" if sample == "a_players" else "no_match"), member
        assert hits[0]["facts"]["source"]["export"] == "google_takeout"
    yao = next(r for p, r in records.items() if p.endswith("!/" + YEAR + "IMG_0005.jpg"))
    assert yao["facts"]["source"]["description"] == "Yao at the game"
    assert yao["status"] == "match" and yao["exposure"]["description"] == "Yao at the game"
    assert ".zip!/" in next(iter(records))
    heic = next(r for p, r in records.items() if p.endswith("IMG_0200.HEIC"))
    assert heic["status"] == "match"
    assert heic["facts"]["source"]["geo"]["latitude"] == pytest.approx(48.85)
    video = next(r for p, r in records.items() if p.endswith("VID_0300.mp4"))
    assert video["status"] == "match"
    assert video["facts"]["appearances"] and min(video["facts"]["appearances"]) >= 0.9
    times = {f["time"] for f in video["faces"] if f["similarity"] and f["similarity"] > 0.5}
    assert times == set(video["facts"]["appearances"])  # each face says which frame it is in
    assert all("time" not in f for f in heic["faces"])
    # the video's faces come once per sampled frame; it counts as the most in one frame
    per_frame = Counter(f["time"] for f in video["faces"])
    assert len(per_frame) > 1 and len(video["faces"]) > max(per_frame.values())
    photo_faces = sum(len(r["faces"]) for p, r in records.items() if r is not video)
    assert document["summary"]["faces"] == photo_faces + max(per_frame.values())
    for member, sample in facebook.photos.items():
        r = records[facebook.path_in_folder(member)]
        assert r["status"] == ("match" if sample == "a_players" else "no_match"), member
        assert r["facts"]["source"]["export"] == facebook.expected[member]["export"], member

    html = report.read_text(encoding="utf-8")
    assert "Google Takeout" in html and "Facebook" in html
    assert "data:image/jpeg;base64," in html
    assert "http://" not in html and "https://" not in html
    assert "IMG_0200.HEIC" in html and "VID_0300.mp4" in html
    # each card shows what the exports say about every copy of its photo
    assert re.search(r"<dt>Description</dt><dd>[^<]*Yao at the game", html)
    assert re.search(r"<dt>Post</dt><dd>[^<]*Visited the Louvre", html)
    # who sent the photo that came in a message, in the record and on its card
    sent = next(r for p, r in records.items() if p.endswith("/photos/40001.jpg"))
    assert sent["facts"]["source"]["sender"] == "Jane Smïth"
    if sent["status"] == "match":
        assert re.search(r"<dt>Sent by</dt><dd>[^<]*Jane Smïth", html)
    # titles that are file names left out; the copy that gives this one is named
    assert re.search(r"<dt>Title</dt><dd>Été à Zürich \[cop(y|ies) [\d, and]+\]</dd>", html)

    matches = [r for r in records.values() if r["status"] == "match"]
    copied = sorted(p for p in copies.iterdir() if p.suffix != ".xmp" and p.name != GATHERED_MARKER)
    # one file per photo: the same bytes in two exports are placed once
    placed = re.search(
        r"(\d+) matched photos? copied .*? \((\d+) identical to another match\)", gathered
    )
    assert placed is not None, gathered
    assert int(placed[1]) == len(copied) and int(placed[1]) + int(placed[2]) == len(matches)
    assert len({p.read_bytes() for p in copied}) == len(copied) < len(matches)
    for photo in copied:
        sidecar = photo.with_name(photo.name + ".xmp")
        if photo.suffix.lower() == ".mp4":
            continue
        assert sidecar.is_file(), sidecar
        tree = ET.parse(sidecar)
        names = [
            e.text for e in tree.iter("{http://www.metadataworkinggroup.com/schemas/regions/}Name")
        ]
        assert "me" in names
