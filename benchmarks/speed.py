"""Throughput and memory of ``selfscan find`` against a naive insightface loop, in one run.

Builds (once, cached) a library of N 12 MP JPEGs (4032x3024, q90) with 0-4 faces from the sample
photos pasted at 40-160 px on varied backgrounds (see ``libgen``), then measures, each in its own
subprocess so that timings and peak memory are isolated:

(a) baseline: one process, ``cv2.imread`` + SCRFD at 640 + ``ArcFaceONNX.get`` per face;
(b) selfscan cold: ``selfscan find --me yaoming.jpg LIB --format jsonl`` with a fresh data dir;
(c) selfscan warm: the same command again (nothing changed);
(d) selfscan ``--quick``, cold;
(e) decode floor: Pillow draft decoding at selfscan's default size, in as many processes as
    selfscan has workers.

(a), (b), (d) and (e) also run on a one-image copy of the library: that is what starting costs
(imports, worker processes, model sessions), and the "steady" columns give images/s once
started, which is what a library of thousands of photos sees.

Prints images/s, ratios against the baseline, peak RSS (of the largest single process, and of
all the run's processes together, sampled every 0.1 s on Linux) and recall on the pasted faces
(IoU >= 0.4).

    python benchmarks/speed.py [--n 60] [--workers 2] [--sizes 200,2000] [--cache DIR]
                               [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import libgen
from selfscan.analyze import PLANS
from selfscan.workers import cpu_cores, default_workers

HERE = Path(__file__).resolve()


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` through a fresh Python wrapper and return its wall time, peak RSS of its
    largest process and of all its processes together (MiB; None where /proc is missing) and
    stdout."""
    wrapper = [sys.executable, str(HERE), "_measure", "--", *cmd]
    done = subprocess.run(wrapper, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.splitlines()
    stats = json.loads(lines[-1])
    stats["stdout"] = "\n".join(lines[:-1])
    return stats


def _tree_rss_mib(root: int) -> float:
    """Resident memory of process ``root`` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next((int(x.split()[1]) for x in fh if x.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total / 1024


def _measure(cmd: list[str]) -> int:
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        total = 0.0 if os.path.isdir("/proc/self") else None
        while proc.poll() is None:
            if total is not None:
                total = max(total, _tree_rss_mib(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.stderr.write(err.read())
            return proc.returncode
        sys.stdout.write(out.read())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "rss_mib": peak, "total_mib": total}))
    return 0


def _baseline(folder: str) -> int:
    """The naive loop: what a script written from insightface's README does."""
    import cv2
    import onnxruntime as ort
    from insightface.app.common import Face
    from insightface.model_zoo.arcface_onnx import ArcFaceONNX
    from insightface.model_zoo.scrfd import SCRFD

    from selfscan.models import load_pack

    pack = load_pack()
    providers = ["CPUExecutionProvider"]
    det_file, rec_file = str(pack.detector_path), str(pack.recognizer_path)
    det = SCRFD(det_file, session=ort.InferenceSession(det_file, providers=providers))
    rec = ArcFaceONNX(rec_file, session=ort.InferenceSession(rec_file, providers=providers))
    for path in sorted(Path(folder).glob("*.jpg")):
        img = cv2.imread(str(path))
        boxes, kpss = det.detect(img, input_size=(640, 640))
        faces = []
        for box, kps in zip(boxes, kpss, strict=True):
            face = Face(bbox=box[:4], kps=kps, det_score=box[4])
            rec.get(img, face)
            faces.append({"box": [float(v) for v in box[:4]]})
        print(json.dumps({"path": str(path), "faces": faces}))
    return 0


def _floor(folder: str, workers: int) -> int:
    """Pillow draft-decode every file to the size selfscan's default mode decodes, in
    ``workers`` processes."""
    from multiprocessing import get_context

    paths = sorted(str(p) for p in Path(folder).glob("*.jpg"))
    side = PLANS["default"][0]
    with get_context("spawn").Pool(workers) as pool:
        for _ in pool.imap_unordered(_decode_one, [(p, side) for p in paths], chunksize=1):
            pass
    return 0


def _decode_one(args: tuple[str, int]) -> int:
    from PIL import Image

    path, side = args
    with Image.open(path) as im:
        ratio = side / max(im.size)
        if ratio < 0.5:
            im.draft("RGB", (int(im.width * ratio), int(im.height * ratio)))
        im.load()
        return im.size[0]


def recall(frames: list[libgen.Frame], found: dict[str, list]) -> tuple[int, int, int, int]:
    """(pasted faces found, pasted faces, found among those < 80 px, pasted < 80 px)."""
    hit = total = small_hit = small = 0
    for frame in frames:
        hits, _ = libgen.score(frame, found.get(os.path.basename(frame.path), []))
        for box, h in zip(frame.faces, hits, strict=True):
            total += 1
            hit += h
            if box[3] - box[1] < 80:
                small += 1
                small_hit += h
    return hit, total, small_hit, small


def _boxes(stdout: str) -> dict[str, list]:
    found = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if "path" in rec and "faces" in rec:
            found[os.path.basename(rec["path"])] = [f["box"] for f in rec["faces"]]
    return found


def selfscan_cmd(me: Path, workers: int, *extra: str, device: str = "auto") -> list[str]:
    """``selfscan find`` without its folder argument."""
    return [
        sys.executable, "-m", "selfscan", "find", "--me", str(me), "--format", "jsonl",
        "--no-progress", "--workers", str(workers), "--device", device, *extra,
    ]  # fmt: skip


def run_suite(
    lib: Path, frames: list[libgen.Frame], workers: int, quick: bool = True, device: str = "auto"
) -> None:
    n = len(frames)
    me = libgen.sample_paths()["yaoming"]
    results: dict[str, dict] = {}
    startup: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="selfscan-speed-") as tmp:
        one = Path(tmp) / "one"
        one.mkdir()
        shutil.copyfile(frames[0].path, one / Path(frames[0].path).name)

        def home(name: str) -> dict[str, str]:
            return {**os.environ, "SELFSCAN_HOME": str(Path(tmp) / name)}

        def both(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
            """``cmd`` on the library, and on one of its images: what starting costs."""
            results[name] = measure([*cmd, str(lib)], env)
            env_one = None if env is None else {**env, "SELFSCAN_HOME": env["SELFSCAN_HOME"] + "1"}
            startup[name] = measure([*cmd, str(one)], env_one)["wall"]

        both("baseline", [sys.executable, str(HERE), "_baseline"])
        both("cold", selfscan_cmd(me, workers, device=device), home("home"))
        warm = selfscan_cmd(me, workers, device=device)
        results["warm"] = measure([*warm, str(lib)], home("home"))
        if quick:
            both("quick", selfscan_cmd(me, workers, "--quick", device=device), home("home-quick"))
        both("floor", [sys.executable, str(HERE), "_floor", str(workers)])
    base = n / results["baseline"]["wall"]
    steady_base = (n - 1) / (results["baseline"]["wall"] - startup["baseline"])
    cores = cpu_cores()
    print(f"\n{n} images of 4032x3024, {workers} workers, {cores} cores, selfscan on {device}")
    print(
        f"{'run':<10}{'seconds':>8}{'img/s':>7}{'x base':>7}{'start s':>8}{'steady':>7}"
        f"{'x base':>7}{'peak MiB':>9}{'all MiB':>8}  faces found"
    )
    for name, r in results.items():
        rate = n / r["wall"]
        line = f"{name:<10}{r['wall']:8.1f}{rate:7.2f}{rate / base:7.2f}"
        if name in startup:
            steady = (n - 1) / (r["wall"] - startup[name])
            line += f"{startup[name]:8.1f}{steady:7.2f}{steady / steady_base:7.2f}"
        else:
            line += f"{'':>8}{'':>7}{'':>7}"
        line += f"{r['rss_mib']:9.0f}{_mib(r['total_mib']):>8}"
        if name != "floor":
            hit, total, sh, small = recall(frames, _boxes(r["stdout"]))
            line += f"  {hit}/{total} pasted ({sh}/{small} under 80 px)"
        print(line)
    print("start s: the same command on one image; steady: images/s once started, (n - 1) /")
    print("(seconds - start s), what a large library sees")
    cold, floor = results["cold"]["wall"], results["floor"]["wall"]
    print(f"cold/baseline throughput {results['baseline']['wall'] / cold:.2f}x (target >= 3)")
    if quick:
        q = results["baseline"]["wall"] / results["quick"]["wall"]
        print(f"quick/baseline throughput {q:.2f}x (target >= 5)")
    print(f"cold time / decode floor time {cold / floor:.2f} (target <= 2)")
    steady_cold = results["cold"]["wall"] - startup["cold"]
    steady_floor = results["floor"]["wall"] - startup["floor"]
    print(f"  once started (seconds - start s): {steady_cold / steady_floor:.2f}")
    print(f"warm time / cold time {results['warm']['wall'] / cold:.3f} (target <= 0.10)")


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def memory_runs(sizes: list[int], cache: Path, workers: int, device: str = "auto") -> None:
    """Peak RSS of a cold default scan at each library size (libraries cached under ``cache``):
    of its largest process, and of all its processes together."""
    me = libgen.sample_paths()["yaoming"]
    crops = libgen.face_crops()
    print(f"\n{'images':>8}{'seconds':>9}{'img/s':>8}{'peak MiB':>10}{'all MiB':>9}")
    for size in sizes:
        lib = cache / f"lib-{size}"
        libgen.build(lib, size, seed=3, per_frame=(0, 4), crops=crops)
        with tempfile.TemporaryDirectory(prefix="selfscan-speed-") as tmp:
            env = {**os.environ, "SELFSCAN_HOME": str(Path(tmp) / "home")}
            r = measure([*selfscan_cmd(me, workers, device=device), str(lib)], env)
        line = f"{size:>8}{r['wall']:9.1f}{size / r['wall']:8.2f}{r['rss_mib']:10.0f}"
        print(f"{line}{_mib(r['total_mib']):>9}", flush=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        return _measure(sys.argv[3:])
    if len(sys.argv) > 1 and sys.argv[1] == "_baseline":
        return _baseline(sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == "_floor":
        return _floor(sys.argv[3], int(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="library size for the speed runs")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfscan-speed"))
    parser.add_argument(
        "--sizes", default="", help="also measure peak memory at these library sizes: 200,2000"
    )
    parser.add_argument("--no-quick", action="store_true", help="skip the --quick run")
    parser.add_argument(
        "--device", default="auto", help="selfscan's --device (the baseline runs on the CPU)"
    )
    args = parser.parse_args()
    libgen.compile_selfscan()
    frames = libgen.speed_library(args.cache, args.n)
    lib = args.cache / f"lib-{args.n}"
    run_suite(lib, frames, args.workers, quick=not args.no_quick, device=args.device)
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        memory_runs(sizes, args.cache, args.workers, args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
