"""Which detection plan finds small faces in 12 MP photos, and at what cost; and from what face
size an embedding can still tell people apart.

Detection: 12 MP frames (4032x3024, JPEG q90) with faces of known size (40-160 px tall) pasted
onto face-free backgrounds, plus portrait close-ups whose face fills most of the frame. For each
candidate plan (decoded size + detector passes) it prints recall per face-size band, precision
(IoU >= 0.4 against the pasted boxes; detections inside a pasted crop that match no pasted face
are ignored) and decode + detector milliseconds per image on one core.

Embedding: every face crop is shrunk so the face is H px tall in a 4032 px photo, decoded the way
a plan decodes it, and compared (cosine) with the same person at full size (genuine) and with
every other person (impostor). Prints genuine/impostor quantiles per size and the landmark span
(eye-midpoint to mouth-midpoint) in decoded pixels.

    python benchmarks/smallfaces.py [--frames 80] [--closeups 12] [--cache /tmp/selfscan-smallfaces]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import libgen
from selfscan import quiet
from selfscan.analyze import PLANS
from selfscan.faces import DetectPlan, FaceAnalyzer
from selfscan.geometry import landmark_span
from selfscan.images import decode
from selfscan.models import load_pack
from selfscan.types import DecodedImage

BANDS = (50, 60, 80, 120, 161)
MATCH = 0.40

CANDIDATES: dict[str, tuple[int, DetectPlan]] = {
    "640": (640, DetectPlan((640,))),
    "640+1280": (1280, DetectPlan((640, 1280))),
    "640+1280@.35": (1280, DetectPlan((640, 1280), thresholds=(0.5, 0.35))),
    "320+640": (640, DetectPlan((320, 640))),
    "320+640 on 1/8": (504, DetectPlan((320, 640))),
    "640+1280@.05c": (1280, DetectPlan((640, 1280), thresholds=(0.5, 0.05))),
    "640+1600@.05c": (1280, DetectPlan((640, 1600), thresholds=(0.5, 0.05))),
    "640+2016": (1280, DetectPlan((640, 2016))),
    "640+2016@.35": (1280, DetectPlan((640, 2016), thresholds=(0.5, 0.35))),
    "640+2016@.1c": (1280, DetectPlan((640, 2016), thresholds=(0.5, 0.1))),
    "640+2016@.05c": (1280, DetectPlan((640, 2016), thresholds=(0.5, 0.05))),
    "2016@.05c only": (1280, DetectPlan((2016,), thresholds=(0.05,))),
    "320+2016@.05c": (1280, DetectPlan((320, 2016), thresholds=(0.5, 0.05))),
    "320+1344@.05c": (1280, DetectPlan((320, 1344), thresholds=(0.5, 0.05))),
    "320+1344@.02c": (1280, DetectPlan((320, 1344), thresholds=(0.5, 0.02))),
    "320+1600@.05c": (1280, DetectPlan((320, 1600), thresholds=(0.5, 0.05))),
    "320+1600@.02c": (1280, DetectPlan((320, 1600), thresholds=(0.5, 0.02))),
    "320+1792@.05c": (1280, DetectPlan((320, 1792), thresholds=(0.5, 0.05))),
    "320+1792@.02c": (1280, DetectPlan((320, 1792), thresholds=(0.5, 0.02))),
    "640+3024 (full)": (2048, DetectPlan((640, 3024))),
    "640+2016+4032@.05c (full)": (2048, DetectPlan((640, 2016, 4032), thresholds=(0.5, 0.5, 0.05))),
}


def _band(height: float) -> int:
    # Pasted heights are drawn from [40, 160]; the recorded box may round to just below 40.
    return next((b for b in BANDS if height + 1 < b), 10_000)


def evaluate(
    analyzer: FaceAnalyzer, frames: list[libgen.Frame], side: int, plan: DetectPlan
) -> dict:
    """Recall per band, close-up recall, false positives, and median ms per image."""
    found: dict[int, list[int]] = {}
    fp = dets = 0
    dec_ms, det_ms = [], []
    for frame in frames:
        # CPU time of this (single-threaded) process: robust to other load on the machine.
        t0 = time.process_time()
        image = decode(frame.path, side)
        t1 = time.process_time()
        faces = analyzer.detect(image, plan)
        t2 = time.process_time()
        dec_ms.append((t1 - t0) * 1000)
        det_ms.append((t2 - t1) * 1000)
        hits, false = libgen.score(frame, [f.box for f in faces])
        fp += false
        dets += len(faces)
        for box, hit in zip(frame.faces, hits, strict=True):
            counts = found.setdefault(_band(box[3] - box[1]), [0, 0])
            counts[0] += hit
            counts[1] += 1
    tp = sum(v[0] for v in found.values())
    return {
        "bands": found,
        "fp": fp,
        "precision": tp / max(1, tp + fp),
        "decode_ms": statistics.median(dec_ms),
        "detect_ms": statistics.median(det_ms),
    }


def detection_table(analyzer: FaceAnalyzer, frames: list[libgen.Frame], names: list[str]) -> None:
    head = " ".join(f"{'<' + str(b) if b < 161 else '<=160':>8}" for b in BANDS)
    print(
        f"{'plan':<26}{'dec':>6}{head} {'>=160':>7} {'R40-160':>8} {'prec':>6} {'fp':>4}"
        f" {'det ms':>7} {'dec ms':>7}"
    )
    for name in names:
        side, plan = CANDIDATES.get(name) or PLANS[name.removeprefix("mode:")]
        r = evaluate(analyzer, frames, side, plan)
        bands = r["bands"]
        cells = []
        for b in BANDS:
            hit, tot = bands.get(b, [0, 0])
            cells.append(f"{hit / tot:8.3f}" if tot else f"{'-':>8}")
        close = bands.get(10_000, [0, 0])
        small = [bands.get(b, [0, 0]) for b in BANDS]
        r_all = sum(v[0] for v in small) / max(1, sum(v[1] for v in small))
        print(
            f"{name:<26}{side:>6}{' '.join(cells)} {close[0]:>3}/{close[1]:<3} {r_all:8.3f}"
            f" {r['precision']:6.3f} {r['fp']:>4} {r['detect_ms']:7.0f} {r['decode_ms']:7.0f}",
            flush=True,
        )
    counts = {}
    for frame in frames:
        for box in frame.faces:
            counts[_band(box[3] - box[1])] = counts.get(_band(box[3] - box[1]), 0) + 1
    print(
        "faces per band:",
        {(">=160" if k == 10_000 else f"<{k}"): v for k, v in sorted(counts.items())},
    )


def _embed_at(
    analyzer: FaceAnalyzer,
    crop: libgen.Crop,
    height: float,
    side: int,
    rng: np.random.Generator,
    tmp: Path,
) -> tuple[np.ndarray | None, float, float]:
    """Paste ``crop`` with its face ``height`` px tall into a 4032 px frame, store it as JPEG,
    decode at ``side`` and embed: (embedding, landmark span decoded px, original px)."""
    canvas = libgen.background("texture", rng, (4032, 3024))
    pixels, box = libgen._scaled(crop, height)
    ph, pw = pixels.shape[:2]
    canvas[1000 : 1000 + ph, 1500 : 1500 + pw] = pixels
    path = tmp / "embed.jpg"
    libgen.write(path, canvas)
    image = decode(str(path), side)
    truth = (1500 + box[0], 1000 + box[1], 1500 + box[2], 1000 + box[3])
    plan = DetectPlan((640, 2016, 4032), thresholds=(0.5, 0.3, 0.3))
    faces = [f for f in analyzer.detect(image, plan) if libgen.iou(f.box, truth) >= 0.4]
    if not faces:
        return None, 0.0, 0.0
    face = faces[0]
    span = landmark_span(face.landmarks)
    crops = [_aligned(image, face.landmarks)]
    feat = np.asarray(analyzer._recognizer.get_feat(crops), dtype=np.float32)[0]
    return feat / np.linalg.norm(feat), span / image.scale, span


def _aligned(image: DecodedImage, landmarks: np.ndarray) -> np.ndarray:
    from insightface.utils import face_align

    return face_align.norm_crop(image.pixels, landmarks / image.scale, image_size=112)


def embedding_table(analyzer: FaceAnalyzer, crops: list[libgen.Crop], tmp: Path) -> None:
    """Genuine vs impostor similarity by face height, for two decode sizes."""
    rng = np.random.default_rng(7)
    people = [c for c in crops if c.face_height >= 80]  # reference at full quality
    refs = []
    for c in people:
        e, _, _ = _embed_at(analyzer, c, c.face_height, 2048, rng, tmp)
        refs.append(e)
    print(f"\n{len(people)} people (crops >= 80 px); reference = same crop at its native size")
    print(
        f"{'decode':>6} {'face px':>7} {'span dec':>8} {'gen min':>8} {'gen p10':>8}"
        f" {'gen med':>8} {'imp max':>8} {'imp p99':>8} {'gen<.40':>8} {'imp>=.40':>8}"
    )
    for side in (1280, 2048):
        for height in (20, 24, 28, 32, 40, 50, 60, 80, 100):
            emb, spans = [], []
            for c in people:
                e, span_dec, _ = _embed_at(analyzer, c, height, side, rng, tmp)
                emb.append(e)
                spans.append(span_dec)
            gen, imp = [], []
            for i, e in enumerate(emb):
                if e is None or refs[i] is None:
                    continue
                gen.append(float(e @ refs[i]))
                imp += [float(e @ r) for j, r in enumerate(refs) if j != i and r is not None]
            if not gen:
                print(f"{side:>6} {height:>7}  (not detected)")
                continue
            g, m = np.array(gen), np.array(imp)
            print(
                f"{side:>6} {height:>7} {np.median([s for s in spans if s]):8.1f}"
                f" {g.min():8.3f} {np.quantile(g, 0.1):8.3f} {np.median(g):8.3f}"
                f" {m.max():8.3f} {np.quantile(m, 0.99):8.3f}"
                f" {np.mean(g < MATCH):8.2f} {np.mean(m >= MATCH):8.3f}",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--closeups", type=int, default=12)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-smallfaces"))
    parser.add_argument(
        "--plans", default=",".join([*CANDIDATES, "mode:quick", "mode:default", "mode:thorough"])
    )
    parser.add_argument("--no-detect", action="store_true", help="skip the detection table")
    parser.add_argument("--no-embed", action="store_true", help="skip the embedding table")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    quiet.enable()  # decode as a worker process does (the fast JPEG path needs capture)
    analyzer = FaceAnalyzer(load_pack(), threads=1)
    crops = libgen.face_crops(analyzer)
    if not args.no_detect:
        medium = libgen.build(
            args.cache / "medium", args.closeups, seed=5, heights=(160.0, 1200.0),
            per_frame=(1, 2), crops=crops,
        )  # fmt: skip
        frames = medium + libgen.build(
            args.cache / "frames",
            args.frames,
            seed=1,
            per_frame=(2, 6),
            closeups=args.closeups,
            crops=crops,
        )
        detection_table(analyzer, frames, args.plans.split(","))
    if not args.no_embed:
        args.cache.mkdir(parents=True, exist_ok=True)
        embedding_table(analyzer, crops, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
