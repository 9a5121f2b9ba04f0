"""What decoding only a window of the photo for its small faces saves, in one run.

A face large enough to compare but small in a default scan's half-size decode is embedded from
the photo's full-resolution pixels. On the speed benchmark's library (12 MP JPEGs, 0-4 faces of
40-160 px pasted on varied backgrounds; built once and cached), each photo is analysed as a
default scan's worker does, once decoding only the window around those faces (the rows down to
it) and once decoding the whole photo again, alternating which goes first (the machine is
shared). Prints milliseconds per photo for each and their ratio, how many photos needed the
full resolution and how far down them the windows reached, and checks that both give the same
embeddings.

    python benchmarks/windows.py [--n 60] [--cache /tmp/selfscan-speed]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import libgen


def _analyse(path: str, window: bool, reach: list[float]) -> Any:
    from selfscan import images

    def windowed(source: str, box: tuple[float, ...], _image: Any) -> Any:
        got = images.decode_window(source, box) if window else images.decode(source)
        reach.append(box[3] / got.height)
        return got

    return libgen.analyse(path, decode_window=windowed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="photos in the library")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    args = parser.parse_args()

    libgen.as_worker()
    frames = libgen.speed_library(args.cache, args.n)
    _analyse(frames[0].path, True, [])  # sessions and arenas

    spent = {True: 0.0, False: 0.0}
    reach: list[float] = []
    worst = 1.0
    for i, frame in enumerate(frames):
        got = {}
        for window in (True, False) if i % 2 else (False, True):
            start = time.perf_counter()
            got[window] = _analyse(frame.path, window, reach if window else [])
            spent[window] += time.perf_counter() - start
        for a, b in zip(got[True].faces, got[False].faces, strict=True):
            if a.embedding is not None:
                worst = min(worst, float(np.dot(a.embedding, b.embedding)))

    n = len(frames)
    print(f"{n} photos of 4032x3024, one process, one thread, default mode")
    print(f"  whole photo decoded again: {1000 * spent[False] / n:6.1f} ms a photo")
    print(f"  window decoded:            {1000 * spent[True] / n:6.1f} ms a photo")
    print(f"  window / whole time: {spent[True] / spent[False]:.3f}")
    if reach:
        share = statistics.median(reach)
        print(
            f"  {len(reach)} of {n} photos needed full resolution; their windows reached "
            f"{share:.0%} of the way down (median)"
        )
    print(f"  least cosine between the two embeddings of a face: {worst:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
