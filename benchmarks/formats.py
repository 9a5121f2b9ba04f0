"""What a default scan costs per photo for formats other than JPEG, in one run.

Takes the speed benchmark's library (12 MP JPEGs, 0-4 faces of 40-160 px pasted on varied
backgrounds; built once and cached), stores the same frames as HEIC (an iPhone's format) and
PNG, and analyses each photo as a default scan's worker does, in one process on one thread, the
formats alternating (the machine is shared). JPEG is the baseline: it is decoded at half size
by libjpeg-turbo, and a small face's window is decoded again at full resolution; the other
formats have no reduced-size decoding, so they are decoded whole and halved, and a small face's
window is made from those pixels; each is also run decoding the whole photo again for that
window, as before this was done.

Prints milliseconds per photo for the scan and for decoding alone, each against JPEG's, the time
with the pixels kept against decoding again, whether each format finds the same faces as the
JPEG, and the least cosine between a face's embeddings with the pixels kept and decoded again.

    python benchmarks/formats.py [--n 12] [--cache /tmp/selfscan-speed]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import libgen

FORMATS = ("JPEG", "HEIC", "PNG")
# (format, whether a small face's window decodes the whole photo again)
RUNS = (("JPEG", False), ("HEIC", False), ("HEIC", True), ("PNG", False), ("PNG", True))


def _converted(frames: list[libgen.Frame], folder: Path) -> dict[str, list[str]]:
    """The frames' paths in each format (HEIC and PNG written once, beside the cache)."""
    from PIL import Image

    from selfscan.imagefile import _enable_heif

    _enable_heif()
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, list[str]] = {f: [] for f in FORMATS}
    for frame in frames:
        paths["JPEG"].append(frame.path)
        stem = Path(frame.path).stem
        for fmt, ext, options in (("HEIF", ".heic", {"quality": 80}), ("PNG", ".png", {})):
            out = folder / f"{stem}{ext}"
            if not out.exists():
                with Image.open(frame.path) as im:
                    im.save(out, fmt, **options)
            paths["HEIC" if fmt == "HEIF" else fmt].append(str(out))
    return paths


def _analyse(path: str, again: bool = False) -> Any:
    from selfscan import images

    def decoded_again(source: str, box: tuple[float, ...], _image: Any) -> Any:
        return images.decode_window(source, box)

    return libgen.analyse(path, **({"decode_window": decoded_again} if again else {}))


def _decode(path: str) -> None:
    from selfscan.analyze import DECODE_FRACTION, PLANS
    from selfscan.images import decode

    decode(path, PLANS["default"][0], DECODE_FRACTION.get("default", 0.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="photos of each format")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    args = parser.parse_args()

    libgen.as_worker()
    frames = libgen.speed_library(args.cache, 60)[: args.n]
    paths = _converted(frames, args.cache / "formats")
    for fmt in FORMATS:
        _analyse(paths[fmt][0])  # sessions, arenas, plugins

    scan = dict.fromkeys(RUNS, 0.0)
    decoding = dict.fromkeys(FORMATS, 0.0)
    differ = dict.fromkeys(FORMATS, 0)
    worst = 1.0
    for i in range(len(frames)):
        order = RUNS[i % len(RUNS) :] + RUNS[: i % len(RUNS)]
        found = {}
        for run in order:
            fmt, again = run
            start = time.perf_counter()
            found[run] = _analyse(paths[fmt][i], again)
            scan[run] += time.perf_counter() - start
            if not again:
                start = time.perf_counter()
                _decode(paths[fmt][i])
                decoding[fmt] += time.perf_counter() - start
        for fmt in FORMATS:
            differ[fmt] += len(found[(fmt, False)].faces) != len(found[("JPEG", False)].faces)
        for fmt in ("HEIC", "PNG"):
            for a, b in zip(found[(fmt, False)].faces, found[(fmt, True)].faces, strict=True):
                if a.embedding is not None:
                    worst = min(worst, float(np.dot(a.embedding, b.embedding)))

    n = len(frames)
    jpeg = scan[("JPEG", False)]
    print(f"{n} photos of 4032x3024 in each format, one process, one thread, default mode")
    for fmt in FORMATS:
        kept = scan[(fmt, False)]
        print(
            f"  {fmt:4}: scan {1000 * kept / n:7.1f} ms a photo ({kept / jpeg:5.2f}x JPEG), "
            f"decoding alone {1000 * decoding[fmt] / n:6.1f} ms "
            f"({decoding[fmt] / decoding['JPEG']:5.2f}x); face count differs from JPEG's in "
            f"{differ[fmt]} photos"
        )
        if (fmt, True) in scan:
            again = scan[(fmt, True)]
            print(
                f"        decoding the photo again for small faces: {1000 * again / n:7.1f} ms "
                f"({again / jpeg:5.2f}x JPEG); pixels kept / decoded again: {kept / again:.3f}"
            )
    print(f"  least cosine between a face's embeddings, pixels kept and decoded again: {worst:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
