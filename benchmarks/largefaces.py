"""Faces in photos larger than 12 MP, where the detector runs in tiles: found, once, whole?

Builds (once, cached) photos of 27 MP (6000x4500), 48 MP (8000x6000) and a 16000x1200 panorama,
each with one face cut from the sample photos, 40-700 px tall, placed at random and on the tiles'
seams (their positions computed with ``geometry.tile_grid`` for every pass the default mode runs,
and the crossings of two seams), then runs ``selfscan find`` (default mode, or the mode given)
and prints, per photo size: faces pasted, found (a reported box with IoU >= 0.5), photos with
more than one face reported, the least IoU, and seconds per photo.

    python benchmarks/largefaces.py [--mode default|thorough] [--per-size 12] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import libgen
from selfscan.analyze import PLANS
from selfscan.faces import TILE_OVERLAP, TILE_SIDE
from selfscan.geometry import tile_grid

SIZES = ((6000, 4500), (8000, 6000), (16000, 1200))
HEIGHTS = (40, 60, 90, 130, 200, 300, 450, 700)


def seams(width: int, height: int) -> tuple[list[float], list[float]]:
    """Photo coordinates of the tiles' seams (the middle of each overlap) of every default pass."""
    long = max(width, height)
    decoded = long // 2  # the default mode decodes at half size
    xs, ys = [], []
    for side, _ in PLANS["default"][1].passes(decoded):
        scale = long / side
        w, h = round(width / scale), round(height / scale)
        for _, (ox0, oy0, _, _) in tile_grid(w, h, TILE_SIDE, TILE_OVERLAP):
            if ox0:
                xs.append(ox0 * scale)
            if oy0:
                ys.append(oy0 * scale)
    return sorted(set(xs)), sorted(set(ys))


def build(folder: Path, per_size: int, seed: int = 3) -> dict[str, list[float]]:
    """The photos and their faces' boxes; reuses a folder that holds them already."""
    truth_file = folder / "truth.json"
    if truth_file.is_file():
        stored = json.loads(truth_file.read_text())
        if stored.get("per_size") == per_size:
            return stored["boxes"]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    crop = next(c for c in libgen.face_crops() if c.source == "yaoming")
    boxes: dict[str, list[float]] = {}
    for width, height in SIZES:
        xs, ys = seams(width, height)
        for i in range(per_size):
            face_h = float(HEIGHTS[i % len(HEIGHTS)])
            if face_h * 1.6 > height:
                continue
            pixels, (bx1, by1, bx2, by2) = libgen._scaled(crop, face_h)
            ph, pw = pixels.shape[:2]
            on = i % 3  # 0: at random, 1: on a vertical seam, 2: where two seams cross
            cx = rng.uniform(0, width) if on == 0 or not xs else float(rng.choice(xs))
            cy = rng.uniform(0, height) if on < 2 or not ys else float(rng.choice(ys))
            x = int(np.clip(cx - (bx1 + bx2) / 2, 0, width - pw))
            y = int(np.clip(cy - (by1 + by2) / 2, 0, height - ph))
            canvas = libgen.background("noise", rng, (width, height))
            canvas[y : y + ph, x : x + pw] = pixels
            name = f"{width}x{height}_{i:02d}.jpg"
            cv2.imwrite(str(folder / name), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
            boxes[name] = [x + bx1, y + by1, x + bx2, y + by2]
    truth_file.write_text(json.dumps({"per_size": per_size, "boxes": boxes}))
    return boxes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="default", choices=("default", "thorough"))
    parser.add_argument("--per-size", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-largefaces"))
    args = parser.parse_args()
    libgen.compile_selfscan()
    truth = build(args.cache, args.per_size)
    me = libgen.sample_paths()["yaoming"]
    cmd = [sys.executable, "-m", "selfscan", "find", "--me", str(me), str(args.cache), "-f"]
    cmd += ["jsonl", "--no-store", "--no-progress", "--workers", str(args.workers)]
    if args.mode == "thorough":
        cmd.append("--thorough")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    rows: dict[str, list] = {}
    for record in map(json.loads, done.stdout.splitlines()):
        name = Path(record.get("path", "")).name
        if name not in truth:
            continue
        ious = [libgen.iou(f["box"], truth[name]) for f in record["faces"]]
        size = name.split("_")[0]
        rows.setdefault(size, []).append((max(ious, default=0.0), len(record["faces"])))
    print(f"{args.mode} mode, {len(truth)} photos, {seconds / len(truth):.2f} s per photo")
    print(f"{'photo':>11} {'faces':>6} {'found':>6} {'>1 face':>8} {'least IoU':>10}")
    for size, found in rows.items():
        hits = sum(best >= 0.5 for best, _ in found)
        extra = sum(count > 1 for _, count in found)
        least = min(best for best, _ in found)
        print(f"{size:>11} {len(found):>6} {hits:>6} {extra:>8} {least:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
