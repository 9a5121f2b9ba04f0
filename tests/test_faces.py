"""Small faces, close-ups, sideways photos and the embedding size limit, with the real models on
frames made at test time from the sample photos."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import selfscan.faces as faces_module
from selfscan.analyze import Job, run_job, set_analyzer
from selfscan.faces import (
    MIN_EMBED_PX,
    TILE_OVERLAP,
    TILE_SIDE,
    DetectPlan,
    FaceAnalyzer,
    align,
)
from selfscan.geometry import iou, landmark_span, nms, similarity, tile_grid
from selfscan.images import decode
from selfscan.models import load_pack
from selfscan.turns import turn_point
from selfscan.types import Analysis, DecodedImage

FRAME = (4032, 3024)


def _yaoming_crop(analyzer: FaceAnalyzer, path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """His face with a margin, and the face box inside the crop."""
    image = decode(path)
    face = analyzer.detect(image)[0]
    x1, y1, x2, y2 = face.box
    m = 0.3 * (y2 - y1)
    h, w = image.pixels.shape[:2]
    cx1, cy1 = max(0, int(x1 - m)), max(0, int(y1 - m))
    cx2, cy2 = min(w, int(x2 + m)), min(h, int(y2 + m))
    return image.pixels[cy1:cy2, cx1:cx2].copy(), (x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1)


def _background(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.full((h, w, 3), (120, 140, 110), dtype=np.int16)
    base += rng.integers(-12, 13, (h, w, 1), dtype=np.int16)
    return np.clip(base, 0, 255).astype(np.uint8)


def _paste(
    canvas: np.ndarray, crop: np.ndarray, box: tuple[float, ...], height: float, at: tuple[int, int]
) -> tuple[float, float, float, float]:
    f = height / (box[3] - box[1])
    size = (round(crop.shape[1] * f), round(crop.shape[0] * f))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    small = cv2.resize(crop, size, interpolation=interp)
    x, y = at
    canvas[y : y + size[1], x : x + size[0]] = small
    fx, fy = size[0] / crop.shape[1], size[1] / crop.shape[0]
    return (x + box[0] * fx, y + box[1] * fy, x + box[2] * fx, y + box[3] * fy)


def _jpeg(path: Path, pixels: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _scan(path: Path, mode: str, analyzer: FaceAnalyzer) -> Analysis:
    set_analyzer(analyzer)
    st = os.stat(path)
    analysis = run_job(Job("image", mode, st.st_size, st.st_mtime_ns, fs_path=str(path)))
    assert analysis.error is None, analysis.error
    return analysis


def _near(analysis: Analysis, truth: tuple[float, ...], tol: float) -> bool:
    return any(
        max(abs(a - b) for a, b in zip(f.box, truth, strict=True)) <= tol for f in analysis.faces
    )


@pytest.fixture(scope="module")
def small_frame(
    tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> tuple[Path, dict[int, tuple[float, ...]]]:
    """A 12 MP JPEG with his face pasted 40, 60 and 100 px tall."""
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background(FRAME)
    truth = {
        40: _paste(canvas, crop, box, 40, (600, 500)),
        60: _paste(canvas, crop, box, 60, (2100, 1700)),
        100: _paste(canvas, crop, box, 100, (3300, 2400)),
    }
    return _jpeg(tmp_path_factory.mktemp("faces") / "small.jpg", canvas), truth


def test_default_finds_small_faces_in_12mp(small_frame, analyzer: FaceAnalyzer) -> None:
    path, truth = small_frame
    analysis = _scan(path, "default", analyzer)
    assert len(analysis.faces) == 3
    for height, box in truth.items():
        assert _near(analysis, box, tol=max(4.0, 0.12 * height)), (height, analysis.faces)


def test_quick_misses_the_40px_face(small_frame, analyzer: FaceAnalyzer) -> None:
    """The trade-off --quick makes: faces this small in a 12 MP photo are not looked for."""
    path, truth = small_frame
    analysis = _scan(path, "quick", analyzer)
    assert not _near(analysis, truth[40], tol=20)


def test_quick_finds_large_faces_and_embeds_them(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    """What --quick is for: faces from about 160 px in a 12 MP photo, found at 1/4 scale,
    still close enough to him to match."""
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background(FRAME, seed=3)
    truth = {
        h: _paste(canvas, crop, box, h, at) for h, at in ((180, (500, 400)), (400, (2600, 1500)))
    }
    path = _jpeg(tmp_path / "large.jpg", canvas)
    analysis = _scan(path, "quick", analyzer)
    me = analyzer.analyze(decode(samples["yaoming"]))[0].embedding
    for height, want in truth.items():
        assert _near(analysis, want, tol=0.15 * height), (height, analysis.faces)
    for face in analysis.faces:
        assert face.embedding is not None and float(face.embedding @ me) > 0.5


def test_default_finds_a_closeup(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    """A face filling the frame: a large detector input alone would miss it."""
    img = cv2.imread(str(samples["yaoming"]))
    f = 3000 / img.shape[1]
    big = cv2.resize(img, (3000, round(img.shape[0] * f)), interpolation=cv2.INTER_CUBIC)
    canvas = _background((3000, 4000))
    top = (4000 - big.shape[0]) // 2
    canvas[top : top + big.shape[0]] = big
    alone = analyzer.detect(decode(samples["yaoming"]))[0].box
    want = (alone[0] * f, alone[1] * f + top, alone[2] * f, alone[3] * f + top)
    analysis = _scan(_jpeg(tmp_path / "close.jpg", canvas), "default", analyzer)
    assert len(analysis.faces) == 1
    assert max(abs(a - b) for a, b in zip(analysis.faces[0].box, want, strict=True)) < 0.08 * (
        want[3] - want[1]
    )


def test_thorough_turns_a_sideways_photo_without_exif(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background((1600, 1200))
    upright = _paste(canvas, crop, box, SIDEWAYS_PX, (700, 500))
    stored = cv2.rotate(canvas, cv2.ROTATE_90_CLOCKWISE)  # no EXIF tag says so
    path = _jpeg(tmp_path / "sideways.jpg", stored)
    assert _scan(path, "default", analyzer).faces == ()
    analysis = _scan(path, "thorough", analyzer)
    assert analysis.orientation == 1
    assert len(analysis.faces) == 1
    # Where the face is in the stored (sideways) image: (x, y) -> (1200 - y, x).
    x1, y1, x2, y2 = upright
    want = (1200 - y2, x1, 1200 - y1, x2)
    got = analysis.faces[0].box
    assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 0.15 * SIDEWAYS_PX
    # Landmarks too: the eyes lie to the right of the mouth in a clockwise-turned face.
    lm = analysis.faces[0].landmarks
    assert lm[:2, 0].mean() > lm[3:, 0].mean()
    assert analysis.faces[0].embedding is not None


SIDEWAYS_PX = 40


@pytest.mark.parametrize("turn", [cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_thorough_turns_a_photo_whose_faces_are_found_the_wrong_way_up(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer, turn: int
) -> None:
    """The detector finds an upside-down face (and odd things in a sideways group photo), but
    their embeddings are useless: a photo stored upside down or sideways without an EXIF tag was
    "no match" even in --thorough, which turned only photos where nothing at all was found. The
    photos the right way up are not turned."""
    from selfscan.references import build_profile

    refs = build_profile(analyzer, [samples["yaoming"]], "me").embeddings

    def best(analysis: Analysis) -> float:
        scores = [
            float((refs @ f.embedding).max()) for f in analysis.faces if f.embedding is not None
        ]
        return max(scores, default=-1.0)

    for name in ("yaoming", "players"):
        pixels = cv2.imread(str(samples[name]))
        stored = _jpeg(tmp_path / f"{name}-turned.jpg", cv2.rotate(pixels, turn))
        upright, turned = (
            _scan(samples[name], "thorough", analyzer),
            _scan(stored, "thorough", analyzer),
        )
        assert best(upright) > 0.55 and best(turned) > 0.55, (name, best(upright), best(turned))
        assert abs(len(turned.faces) - len(upright.faces)) <= max(2, len(upright.faces) // 10)


@pytest.mark.parametrize(
    ("name", "turn"),
    [
        ("yaoming", cv2.ROTATE_180),
        ("yaoming", cv2.ROTATE_90_CLOCKWISE),
        ("yaoming", cv2.ROTATE_90_COUNTERCLOCKWISE),
        ("players", cv2.ROTATE_180),
        ("players", cv2.ROTATE_90_CLOCKWISE),
        ("players", cv2.ROTATE_90_COUNTERCLOCKWISE),
    ],
)
def test_default_scan_reads_a_photo_stored_upside_down_or_sideways(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer, name: str, turn: int
) -> None:
    """A photo stored turned without an EXIF orientation (a scanned print, an export that
    dropped the tag) was "no match" in a default scan: upside-down faces are mostly not found,
    and those found read as strangers. The default mode now turns it as --thorough does."""
    from selfscan.references import build_profile

    refs = build_profile(analyzer, [samples["yaoming"]], "me").embeddings
    pixels = cv2.imread(str(samples[name]))
    stored = _jpeg(tmp_path / f"{name}-turned.jpg", cv2.rotate(pixels, turn))
    analysis = _scan(stored, "default", analyzer)
    scores = [float((refs @ f.embedding).max()) for f in analysis.faces if f.embedding is not None]
    assert max(scores, default=-1.0) > 0.55, (name, turn, sorted(scores)[-3:])
    # Boxes are in the photo as stored: inside it, and the eyes of a face turned upside down
    # below its mouth.
    h, w = cv2.rotate(pixels, turn).shape[:2]
    assert all(
        0 <= f.box[0] < f.box[2] <= w + 1 and 0 <= f.box[1] < f.box[3] <= h + 1
        for f in analysis.faces
    )
    if turn == cv2.ROTATE_180:
        lm = max(analysis.faces, key=lambda f: f.box[3] - f.box[1]).landmarks
        assert lm[:2, 1].mean() > lm[3:, 1].mean()
    # The facts say which way up the photo is: turned clockwise by this much, it is upright.
    # (His lone large face on its side reads clearly as it is, aligned by its landmarks: the
    # photo is not read turned, but its landmarks say how to show it.)
    back = {cv2.ROTATE_180: 180, cv2.ROTATE_90_CLOCKWISE: 270, cv2.ROTATE_90_COUNTERCLOCKWISE: 90}
    assert analysis.facts["photo"].get("turned") == back[turn]


@pytest.mark.parametrize("name", ["yaoming", "players", "t1", "gdp"])
def test_default_scan_looks_at_photos_the_right_way_up_only_as_they_are(
    samples: dict[str, Path], analyzer: FaceAnalyzer, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check costs a default scan nothing on a photo whose faces read clearly: no turn is
    even looked at."""
    import selfscan.turns as turns_module

    looked: list[object] = []
    real = turns_module.best_turn

    def spy(*args: object, **kwargs: object) -> object:
        looked.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("selfscan.analyze.best_turn", spy)
    analysis = _scan(samples[name], "default", analyzer)
    assert analysis.faces and not looked
    assert "turned" not in analysis.facts["photo"]


def test_turn_point_undoes_each_quarter_turn() -> None:
    rng = np.random.default_rng(1)
    w, h = 37, 23
    img = rng.integers(0, 255, (h, w), dtype=np.uint8)
    codes = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}
    for turns, code in codes.items():
        turned = cv2.rotate(img, code)
        for _ in range(20):
            ty, tx = int(rng.integers(0, turned.shape[0])), int(rng.integers(0, turned.shape[1]))
            # Pixel centres map to pixel centres.
            back = turn_point(np.array([[tx + 0.5, ty + 0.5]], np.float32), turns, w, h)[0]
            assert img[int(back[1]), int(back[0])] == turned[ty, tx]


def test_tiny_face_is_reported_without_embedding(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background((1600, 1200))
    _paste(canvas, crop, box, 18, (300, 300))
    _paste(canvas, crop, box, 120, (900, 600))
    image = decode(_jpeg(tmp_path / "tiny.jpg", canvas))
    faces = analyzer.analyze(image, DetectPlan((640, 1600), thresholds=(0.5, 0.05)))
    assert len(faces) == 2
    by_size = sorted(faces, key=lambda f: f.height)
    assert landmark_span(by_size[0].landmarks) < MIN_EMBED_PX
    assert by_size[0].embedding is None
    assert by_size[1].embedding is not None


def test_passes_are_deduplicated_on_small_images(
    analyzer: FaceAnalyzer, samples: dict[str, Path]
) -> None:
    """A 287 px photo gives the same faces whatever the larger passes ask for."""
    image = decode(samples["yaoming"])
    one = analyzer.detect(image, DetectPlan((640,)))
    many = analyzer.detect(image, DetectPlan((640, 1280, 2048)))
    assert len(one) == len(many) == 1
    assert one[0].box == many[0].box


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.4) == [1, 2]


def test_plan_passes_pair_sides_with_thresholds() -> None:
    plan = DetectPlan((2016, 640), thresholds=(0.05, 0.5))
    assert plan.passes(4032) == [(640, 0.5), (2016, 0.05)]
    assert DetectPlan((640, 1280)).passes(4032) == [(640, 0.5), (1280, 0.5)]
    relative = DetectPlan((320, 0.5, 1.0), thresholds=(0.5, 0.05, 0.05))  # the image's own size
    assert relative.passes(4032) == [(320, 0.5), (2016, 0.05), (4032, 0.05)]
    # Below each tiled pass, one at most 2.5 times smaller finds what its seams cut.
    assert relative.passes(12000) == [
        (320, 0.5),
        (960, 0.05),
        (2400, 0.05),
        (6000, 0.05),
        (12000, 0.05),
    ]
    assert DetectPlan((320, 1.0), thresholds=(0.5, 0.05)).passes(4000) == [
        (320, 0.5),
        (1600, 0.05),
        (4000, 0.05),
    ]


def test_decoded_image_scale_is_honoured(analyzer: FaceAnalyzer, samples: dict[str, Path]) -> None:
    """Boxes come back in original coordinates whatever the decoded size."""
    full = decode(samples["players"])
    half = DecodedImage(
        cv2.resize(full.pixels, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
        full.scale * 2,
        full.width,
        full.height,
    )
    big = [f for f in analyzer.detect(full) if f.height > 40]
    small = [f for f in analyzer.detect(half, DetectPlan((1280,))) if f.height > 40]
    assert len(big) >= 10
    for f in big:
        assert min(max(abs(a - b) for a, b in zip(f.box, g.box, strict=True)) for g in small) < 6


def test_candidate_in_the_padding_is_not_confirmed(analyzer, samples) -> None:
    """A low-score candidate lying in the padding past the image's right edge is dropped."""
    from selfscan.images import decode

    image = decode(samples["players"], 640)
    width = image.pixels.shape[1]
    det = np.array([width + 10, 2.0, width + 20, 12.0, 0.05], dtype=np.float32)
    analyzer._load()
    assert analyzer._confirm(image.pixels, det, 0.5) is None


def test_second_looks_are_capped_in_a_crowd(samples, monkeypatch) -> None:
    """The stands behind the team give thousands of weak candidates; only the best
    ``confirm_limit`` get a second look, and the players are all still found."""
    from selfscan.analyze import PLANS

    analyzer = FaceAnalyzer(load_pack())
    looks = 0
    real = analyzer._confirm

    def counting(*args):
        nonlocal looks
        looks += 1
        return real(*args)

    monkeypatch.setattr(analyzer, "_confirm", counting)
    side, plan = PLANS["default"]
    faces = analyzer.detect(decode(samples["players"], side), plan)
    assert 0 < looks <= plan.confirm_limit
    assert sum(f.height >= 40 for f in faces) >= 16


def _analyse_in_child(samples: dict[str, Path], unused: tuple[str, ...] | None) -> list[str]:
    """Analyse yaoming.jpg in a fresh interpreter (with ``offline.UNUSED`` replaced when
    ``unused`` is given); its stdout: the face count, then which optional modules were loaded."""
    patch = f"offline.UNUSED = {unused!r}\n" if unused is not None else ""
    code = (
        "import sys\nfrom selfscan import offline\n" + patch + "from selfscan.faces import "
        "FaceAnalyzer\nfrom selfscan.images import decode\nfrom selfscan.models import load_pack\n"
        "faces = FaceAnalyzer(load_pack('buffalo_s')).analyze("
        f"decode({str(samples['yaoming'])!r}))\n"
        "print(len(faces), sum(f.embedding is not None for f in faces))\n"
        "print(sorted(m for m in ('insightface.app', 'requests') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_models_load_without_insightfaces_app(samples: dict[str, Path]) -> None:
    """insightface's ``app`` (FaceAnalysis, its downloader and a liveness add-on that imports
    SciPy) is never imported: it is about half of insightface's import time in every worker."""
    assert _analyse_in_child(samples, None) == ["1 1", "[]"]


def test_models_load_when_insightface_needs_a_skipped_subpackage(
    samples: dict[str, Path],
) -> None:
    """Should an insightface release need a subpackage selfscan stands in for (its ``data`` does
    today, so standing in for it fails), insightface is imported whole and still works."""
    lines = _analyse_in_child(samples, ("insightface.app", "insightface.data"))
    assert lines[0] == "1 1"
    assert "insightface.app" in lines[1] and "requests" not in lines[1]


def test_similarity_recovers_a_known_transform() -> None:
    """A rotation by 30 degrees, scale 1.7 and a shift are found again from five points (and
    four extra noisy ones do not throw them off); equal points give a finite shift-only map."""
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = np.radians(30), 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ (scale * rot).T + shift
    matrix = similarity(src, dst)
    assert np.allclose(matrix[:, :2], scale * rot, atol=1e-9)
    assert np.allclose(matrix[:, 2], shift, atol=1e-9)
    flat = similarity(np.ones((5, 2)), np.full((5, 2), 3.0))
    assert np.allclose(flat, [[1, 0, 2], [0, 1, 2]])


@pytest.mark.parametrize("size", [112, 128])
def test_alignment_matches_insightfaces_norm_crop(
    analyzer: FaceAnalyzer, samples: dict[str, Path], size: int
) -> None:
    """The aligned crops of real faces are insightface's ``norm_crop`` crops, and the players'
    embeddings are unchanged by the alignment being estimated here."""
    import warnings

    from insightface.utils import face_align

    image = decode(samples["players"])
    faces = analyzer.detect(image)[:6]
    assert len(faces) == 6
    for face in faces:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # scikit-image's estimate
            theirs = face_align.norm_crop(image.pixels, face.landmarks, image_size=size)
        ours = align(image.pixels, face.landmarks, size)
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
        if size == 112:
            feats = analyzer._recognizer.get_feat([ours, theirs])
            feats /= np.linalg.norm(feats, axis=1, keepdims=True)
            assert float(feats[0] @ feats[1]) > 0.999


def test_full_resolution_pass_runs_in_tiles_and_keeps_each_face_once(
    samples: dict[str, Path], analyzer: FaceAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faces across the tiles' seams (one where four tiles meet) are found once and whole by
    the tiled 4032 px pass, as by the same pass on the whole image."""
    assert len(tile_grid(*FRAME, TILE_SIDE, TILE_OVERLAP)) == 4
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background(FRAME, seed=3)
    truth = []
    for height, (cx, cy) in ((36, (2016, 700)), (48, (900, 1512)), (60, (2016, 1512))):
        f = height / (box[3] - box[1])
        at = (round(cx - (box[0] + box[2]) / 2 * f), round(cy - (box[1] + box[3]) / 2 * f))
        truth.append(np.array(_paste(canvas, crop, box, height, at), np.float32))
    raw, inputs = {}, []
    forward = analyzer._forward
    monkeypatch.setattr(analyzer, "_forward", lambda p, t: inputs.append(p.shape) or forward(p, t))
    for name, side in (("tiled", TILE_SIDE), ("whole", 10**6)):
        monkeypatch.setattr(faces_module, "TILE_SIDE", side)
        dets, _, back = analyzer._pass(canvas, 4032, 0.5)
        assert back == 1.0
        raw[name] = dets
        dets = dets[nms(dets[:, :4], dets[:, 4], 0.4)]
        for t in truth:
            hits = [d for d in dets if iou(d[:4], t) > 0.1]
            assert len(hits) == 1, (name, t, dets)
            assert iou(hits[0][:4], t) > 0.6, (name, t, hits)
    assert len(inputs) == 5 and all(max(shape[:2]) <= TILE_SIDE for shape in inputs[:4])
    # Each tile keeps only what it owns, so a face on a seam is not detected once per tile.
    assert len(raw["tiled"]) <= 1.5 * len(raw["whole"]), (len(raw["tiled"]), len(raw["whole"]))


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 20000),
    height=st.integers(1, 20000),
    longest=st.integers(400, 3000),
    overlap=st.integers(0, 300),
)
def test_tiles_cover_the_image_and_own_each_pixel_once(
    width: int, height: int, longest: int, overlap: int
) -> None:
    grid = tile_grid(width, height, longest, overlap)
    owned = np.zeros((2, max(width, height) + 1), np.int32)  # per axis: how many own each pixel
    xs = {(x0, x1, ox0, ox1) for (x0, _, x1, _), (ox0, _, ox1, _) in grid}
    ys = {(y0, y1, oy0, oy1) for (_, y0, _, y1), (_, oy0, _, oy1) in grid}
    assert len(grid) == len(xs) * len(ys)
    for axis, parts, length in ((0, sorted(xs), width), (1, sorted(ys), height)):
        assert parts[0][0] == 0 and parts[-1][1] == length
        for (start, end, lo, hi), nxt in zip(parts, [*parts[1:], None], strict=True):
            assert end - start <= longest and start <= lo < hi <= end
            owned[axis, lo:hi] += 1
            if nxt is not None:
                assert end - nxt[0] >= min(overlap, length)  # neighbours overlap enough
                # A face up to `overlap` across, centred in what this tile owns, is inside it.
                assert hi + overlap // 2 <= end and nxt[2] - overlap // 2 >= nxt[0]
        assert (owned[axis, :length] == 1).all()


def test_a_face_larger_than_the_overlap_on_a_seam_keeps_its_whole_box(
    samples: dict[str, Path], analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """A 100 px face where four tiles meet: the tiles see parts of it, and a part scored higher
    than the whole face found by the 2016 px pass, so --thorough reported a cut box."""
    from PIL import Image

    from selfscan.analyze import PLANS

    face = Image.open(samples["yaoming"]).convert("RGB")  # his face box: 71.5,72.2,177.8,214
    k = 100 / (214.0 - 72.2)
    face = face.resize((round(face.width * k), round(face.height * k)), Image.LANCZOS)
    noise = np.random.default_rng(1).integers(90, 160, (32, 42, 3), dtype=np.uint8)
    canvas = Image.fromarray(noise).resize(FRAME, Image.BICUBIC)
    at = (round(2016 - 124.65 * k), round(1512 - 143.1 * k))
    canvas.paste(face, at)
    path = tmp_path / "seam.jpg"
    canvas.save(path, quality=92)
    truth = np.array(
        [at[0] + 71.5 * k, at[1] + 72.2 * k, at[0] + 177.8 * k, at[1] + 214.0 * k], np.float32
    )
    faces = analyzer.detect(decode(path, PLANS["thorough"][0]), PLANS["thorough"][1])
    assert len(faces) == 1
    assert iou(np.array(faces[0].box, np.float32), truth) > 0.85, (faces[0].box, truth)


def test_default_finds_small_faces_in_a_panorama_as_in_12mp(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    """The passes work at a fraction of the photo's own size: in a 12000x2000 panorama (or a
    48 MP photo) a 40 px face was decoded to 5-10 px and missed by the default mode."""
    crop, box = _yaoming_crop(analyzer, samples["yaoming"])
    canvas = _background((12000, 2000), seed=7)
    truth = _paste(canvas, crop, box, 40, (7300, 980))
    analysis = _scan(_jpeg(tmp_path / "panorama.jpg", canvas), "default", analyzer)
    assert _near(analysis, truth, tol=6), analysis.faces
    assert any(f.embedding is not None for f in analysis.faces)


def test_a_medium_face_on_a_seam_of_a_large_photo_is_found_whole(
    tmp_path: Path, samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    """A 27 MP photo is searched at half size in tiles: a face 200 px wide at the centre was cut
    by both seams, each part dropped, and the photo was "no face" (too small for the 320 px
    pass); a pass in between now finds it whole."""
    pixels = cv2.imread(str(samples["yaoming"]))  # his face box: 71,72 to 178,214
    crop = pixels[24:262, 23:226]  # the face with a margin of 48 px
    k = 200 / (178 - 71)
    face = cv2.resize(crop, (round(crop.shape[1] * k), round(crop.shape[0] * k)), cv2.INTER_CUBIC)
    rng = np.random.default_rng(1)
    canvas = cv2.resize(
        rng.integers(60, 200, (70, 93, 3), dtype=np.uint8), (6000, 4500), cv2.INTER_LINEAR
    )
    h, w = face.shape[:2]
    x, y = 3000 - w // 2, 2250 - h // 2
    canvas[y : y + h, x : x + w] = face
    truth = np.array([x + 48 * k, y + 48 * k, x + 155 * k, y + 190 * k], np.float32)
    analysis = _scan(_jpeg(tmp_path / "large.jpg", canvas), "default", analyzer)
    assert len(analysis.faces) == 1, analysis.faces
    assert iou(np.array(analysis.faces[0].box, np.float32), truth) > 0.7, analysis.faces[0].box


def test_an_image_one_pixel_wide_has_no_face_and_no_error(
    tmp_path: Path, analyzer: FaceAnalyzer
) -> None:
    """A 1x5000 image made the detector's whole-block reduction empty: "internal error"."""
    path = _jpeg(tmp_path / "thin.jpg", np.full((5000, 1, 3), 128, np.uint8))
    for mode in ("quick", "default", "thorough"):
        assert _scan(path, mode, analyzer).faces == ()


def test_a_crowd_is_embedded_in_batches(
    analyzer: FaceAnalyzer, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime keeps the memory of its largest run: a crowd embedded in one batch held a
    worker at 3 GB (600 faces) for the rest of the scan. Batches give the same embeddings."""
    image = decode(samples["players"], 1280)
    found = analyzer.detect(image)
    sizes: list[int] = []
    analyzer._load()
    real = analyzer._recognizer.get_feat
    monkeypatch.setattr(analyzer._recognizer, "get_feat", lambda c: sizes.append(len(c)) or real(c))
    batched = analyzer.embed(image, found)
    assert len(sizes) > 1 and max(sizes) <= faces_module.EMBED_BATCH, sizes
    monkeypatch.setattr(faces_module, "EMBED_BATCH", 10_000)
    whole = analyzer.embed(image, found)
    for a, b in zip(batched, whole, strict=True):
        assert (a.embedding is None) == (b.embedding is None)
        if a.embedding is not None:
            assert np.allclose(a.embedding, b.embedding, atol=1e-5)
