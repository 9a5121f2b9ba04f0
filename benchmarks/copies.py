"""Cost of identical copies in a first scan: a library of N 12 MP photos, then the same library
with each photo also in an album folder (as a Takeout export or a second backup holds them).

Both are scanned cold (a fresh data dir each time) through the real CLI, twice each in turn on
this shared machine, and the least time of each is reported. Copies analysed once make the
library of 2N files cost about what the N originals cost (ratio near 1.0); analysed again, each
copy would cost as much as its original (ratio near 2.0).

    python benchmarks/copies.py [--n 20] [--workers 2] [--cache /tmp/selfscan-speed]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import libgen
from selfscan.workers import default_workers


def scan(folder: Path, home: Path, workers: int) -> tuple[float, dict]:
    """Seconds for a cold ``selfscan find`` of ``folder``, and its JSON summary."""
    shutil.rmtree(home, ignore_errors=True)
    me = libgen.sample_paths()["yaoming"]
    cmd = [
        sys.executable, "-m", "selfscan", "find", str(folder), "--me", str(me),
        "--format", "json", "--no-progress", "--workers", str(workers),
    ]  # fmt: skip
    start = time.perf_counter()
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return seconds, json.loads(done.stdout)["summary"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    args = parser.parse_args()
    libgen.compile_selfscan()
    frames = libgen.build(args.cache / f"lib-{args.n}", args.n, seed=3, per_frame=(0, 4))
    with tempfile.TemporaryDirectory(prefix="selfscan-copies-") as tmp:
        originals, doubled = Path(tmp) / "originals", Path(tmp) / "doubled"
        album = doubled / "Takeout" / "Album"
        originals.mkdir()
        album.mkdir(parents=True)
        for frame in frames:
            name = Path(frame.path).name
            shutil.copyfile(frame.path, originals / name)
            shutil.copyfile(frame.path, doubled / name)
            shutil.copyfile(frame.path, album / name)
        times: dict[str, list[float]] = {"originals": [], "doubled": []}
        summaries = {}
        for _ in range(2):
            for name, folder in (("originals", originals), ("doubled", doubled)):
                seconds, summaries[name] = scan(folder, Path(tmp) / "home", args.workers)
                times[name].append(seconds)
    best = {name: min(values) for name, values in times.items()}
    for name in ("originals", "doubled"):
        s = summaries[name]
        print(
            f"{name:9s} {s['total']:4d} files  {best[name]:6.1f} s  "
            f"(runs: {', '.join(f'{t:.1f}' for t in times[name])})  "
            f"copies analysed once: {s.get('copies', 0)}  matches: {s['counts']['match']}"
        )
    ratio = best["doubled"] / best["originals"]
    print(f"doubled / originals time: {ratio:.2f} (copies analysed again would give about 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
