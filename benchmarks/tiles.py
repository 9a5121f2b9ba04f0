"""The thorough mode's full-resolution detector pass, whole against tiled, in one run.

On N photos of the speed benchmark's library (12 MP, faces pasted at 40-160 px), each variant
runs in its own process (so peak memory is its own): decode as ``--thorough`` does, then the
thorough detector plan, once per photo after one warm-up photo. Rounds alternate the variants
and the least time of each is kept (the machine is shared). Prints seconds per photo, the tiled
time as a ratio of the whole one, peak RSS of each process, and whether both found the same
faces (same count per photo, boxes within 8 px).

    python benchmarks/tiles.py [--n 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import libgen


def _child(tile_side: int, files: list[str]) -> int:
    from selfscan import faces
    from selfscan.analyze import PLANS
    from selfscan.images import decode
    from selfscan.models import load_pack

    faces.TILE_SIDE = tile_side
    analyzer = faces.FaceAnalyzer(load_pack())
    side, plan = PLANS["thorough"]
    analyzer.detect(decode(files[-1], side), plan)  # sessions and arenas
    spent, boxes = 0.0, []
    for path in files:
        image = decode(path, side)
        start = time.perf_counter()
        found = analyzer.detect(image, plan)
        spent += time.perf_counter() - start
        boxes.append(sorted([round(v) for v in f.box] for f in found))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": spent, "rss_mib": peak, "boxes": boxes}))
    return 0


def _run(tile_side: int, files: list[str]) -> dict:
    cmd = [sys.executable, __file__, "_child", str(tile_side), *files]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _near(u: list[int], v: list[int]) -> bool:
    return max(abs(p - q) for p, q in zip(u, v, strict=True)) <= 8


def _same(a: list, b: list) -> bool:
    return all(
        len(x) == len(y) and all(_near(u, v) for u, v in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        return _child(int(sys.argv[2]), sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="photos to detect in")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    args = parser.parse_args()
    from selfscan.faces import TILE_SIDE

    frames = libgen.speed_library(args.cache, 60)
    files = [f.path for f in frames[: args.n]]
    variants = {"whole": 10**6, "tiled": TILE_SIDE}
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for name, side in variants.items():
            result = _run(side, files)
            if name not in best or result["seconds"] < best[name]["seconds"]:
                best[name] = result
    for name, r in best.items():
        per = r["seconds"] / len(files)
        print(f"{name:>6}: {per:.2f} s/photo, peak RSS {r['rss_mib']:.0f} MiB")
    ratio = best["tiled"]["seconds"] / best["whole"]["seconds"]
    print(f"tiled / whole time: {ratio:.2f}")
    print("same faces:", _same(best["whole"]["boxes"], best["tiled"]["boxes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
