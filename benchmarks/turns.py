"""What the default scan's check for photos stored turned costs, and what it finds, in one run.

On the speed benchmark's library (12 MP JPEGs, 0-4 faces of 40-160 px pasted on varied
backgrounds, about a fifth with no face; built once and cached), each photo is analysed as a
default scan's worker does, once with the turn check and once without, alternating which goes
first (the machine is shared). Prints milliseconds per photo for each, their ratio, and how many
photos each kind of check looked at. Then the same photos turned upside down in their pixels (no
EXIF orientation): of the pasted faces found and embedded in the photo the right way up, how many
each variant reads as the same face upside down (a box within 0.4 IoU of the truth, mapped to
the photo as stored, whose embedding scores at least 0.5 against the upright one's).

    python benchmarks/turns.py [--n 60] [--cache /tmp/selfscan-speed]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import libgen


def _analyse(path: str, on: bool, looked: collections.Counter[tuple[int, ...]]) -> Any:
    from selfscan import analyze

    real = analyze.turns_to_try

    def counted(*args: Any) -> tuple[int, ...]:
        tried = real(*args)
        looked[tried] += 1
        return tried

    return libgen.analyse(path, turns_to_try=counted if on else (lambda *args: ()))


def _embedding_at(analysis: Any, box: tuple[float, ...]) -> np.ndarray | None:
    near = [f for f in analysis.faces if f.embedding is not None and libgen.iou(f.box, box) >= 0.4]
    return max(near, key=lambda f: libgen.iou(f.box, box)).embedding if near else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="photos in the library")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    args = parser.parse_args()

    libgen.as_worker()
    frames = libgen.speed_library(args.cache, args.n)
    _analyse(frames[0].path, False, collections.Counter())  # sessions and arenas

    spent = {True: 0.0, False: 0.0}
    looked: collections.Counter[tuple[int, ...]] = collections.Counter()
    for i, frame in enumerate(frames):
        for on in (True, False) if i % 2 else (False, True):
            start = time.perf_counter()
            _analyse(frame.path, on, looked if on else collections.Counter())
            spent[on] += time.perf_counter() - start
    n = len(frames)
    print(f"photos the right way up ({n}): with the check {spent[True] / n * 1000:.0f} ms/photo,")
    print(
        f"  without {spent[False] / n * 1000:.0f} ms/photo: ratio {spent[True] / spent[False]:.3f}"
    )
    names = {(): "none", (2,): "upside down only", (1, 2, 3): "every turn"}
    print("  looked at: " + ", ".join(f"{names.get(k, k)} {v}" for k, v in sorted(looked.items())))

    read = {True: 0, False: 0}
    upright_read = 0
    with tempfile.TemporaryDirectory(prefix="selfscan-turns-") as tmp:
        for frame in frames:
            upright = _analyse(frame.path, False, collections.Counter())
            pixels = cv2.imread(frame.path)
            h, w = pixels.shape[:2]
            stored = Path(tmp) / Path(frame.path).name
            libgen.write(stored, cv2.rotate(pixels, cv2.ROTATE_180))
            turned = {on: _analyse(str(stored), on, collections.Counter()) for on in (True, False)}
            for box in frame.faces:
                want = _embedding_at(upright, box)
                if want is None:
                    continue
                upright_read += 1
                x1, y1, x2, y2 = box
                for on in (True, False):
                    got = _embedding_at(turned[on], (w - x2, h - y2, w - x1, h - y1))
                    read[on] += got is not None and float(want @ got) >= 0.5
    print(f"photos upside down: of {upright_read} pasted faces read the right way up, read")
    print(f"  upside down with the check {read[True]}, without {read[False]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
