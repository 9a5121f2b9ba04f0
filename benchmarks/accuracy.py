"""Precision and recall of ``selfscan find`` on the labelled photos, through the real CLI.

Protocol (../shared/faces/README.md): for each identity in labels.json, enroll its two reference
photos, scan all other photos, count a file as found when selfscan reports it as a match; sum
true/false positives and misses over identities (micro average). Skips when the folder is absent.

    python benchmarks/accuracy.py [--faces ../shared/faces] [--model buffalo_l] [--quick]
        [--thorough] [--turn 90|180|270]

``--turn`` stores the scanned photos (not the references) turned clockwise in their pixels, with
no EXIF orientation: a photo stored sideways or upside down by a tool that dropped the tag.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import add_faces_option, load_labels


def selfscan(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "selfscan", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def store(source: Path, target: Path, turn: int) -> None:
    """Copy ``source`` to ``target``, or with ``turn`` write its pixels turned clockwise by that
    many degrees, upright as the camera's EXIF orientation says, and with no EXIF at all."""
    if not turn:
        shutil.copyfile(source, target)
        return
    from PIL import Image, ImageOps

    with Image.open(source) as im:
        upright = ImageOps.exif_transpose(im)
        turned = upright.rotate(-turn, expand=True)
        options = {"quality": 95} if target.suffix.lower() in (".jpg", ".jpeg") else {}
        turned.save(target, **options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_faces_option(parser)
    parser.add_argument("--model", default=None, help="model pack (default: the active one)")
    parser.add_argument("--quick", action="store_true", help="scan with --quick")
    parser.add_argument("--thorough", action="store_true", help="scan with --thorough")
    parser.add_argument(
        "--turn", type=int, choices=(0, 90, 180, 270), default=0, help="turn scanned photos"
    )
    args = parser.parse_args()
    labels = load_labels(args.faces)
    if labels is None:
        return 0
    tp = fp = fn = 0
    with tempfile.TemporaryDirectory(prefix="selfscan-accuracy-") as tmp:
        env = {**os.environ, "SELFSCAN_HOME": str(Path(tmp) / "home")}
        if args.model:
            env["SELFSCAN_MODEL"] = args.model
        for ident, refs in labels["refs"].items():
            library = Path(tmp) / ident
            library.mkdir()
            for name in labels["images"]:
                if name not in refs:
                    store(args.faces / name, library / name, args.turn)
            done = selfscan(
                ["enroll", "--profile", ident, *[str(args.faces / r) for r in refs]], env
            )
            if done.returncode != 0:
                print(f"enroll {ident} failed: {done.stderr.strip()}")
                return 1
            find_args = [
                "find",
                "--profile",
                ident,
                "--format",
                "jsonl",
                "--no-progress",
                str(library),
            ]
            if args.quick:
                find_args.insert(1, "--quick")
            if args.thorough:
                find_args.insert(1, "--thorough")
            done = selfscan(find_args, env)
            if done.returncode != 0:
                print(f"find {ident} failed: {done.stderr.strip()}")
                return 1
            found = {
                Path(r["path"]).name
                for r in map(json.loads, done.stdout.splitlines())
                if r["status"] == "match"
            }
            unsure = {n for n, ids in labels.get("unsure", {}).items() if ident in ids}
            truth = {n for n, ids in labels["images"].items() if ident in ids and n not in refs}
            truth -= unsure
            i_tp, i_fp, i_fn = len(found & truth), len(found - truth - unsure), len(truth - found)
            print(
                f"{ident:16s} tp {i_tp:2d}  fp {i_fp:2d}  fn {i_fn:2d}"
                + (f"  missed {sorted(truth - found)}" if i_fn else "")
                + (f"  false {sorted(found - truth - unsure)}" if i_fp else "")
            )
            tp, fp, fn = tp + i_tp, fp + i_fp, fn + i_fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"micro precision {precision:.3f}  recall {recall:.3f}  (tp {tp}, fp {fp}, fn {fn})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
