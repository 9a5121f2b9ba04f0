"""Similarity distributions on the labelled photos, to choose the match and review thresholds.

For each identity in labels.json, its two reference photos are enrolled and every other photo's
best-face similarity is recorded as a genuine (the identity is in it) or impostor score. Prints
both distributions and the precision/recall at candidate thresholds.

    python benchmarks/calibrate.py [--faces ../shared/faces] [--model buffalo_s]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import add_faces_option, load_labels
from selfscan.analyze import PLANS
from selfscan.faces import FaceAnalyzer
from selfscan.images import decode
from selfscan.match import similarities
from selfscan.models import load_pack
from selfscan.references import build_profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_faces_option(parser)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    labels = load_labels(args.faces)
    if labels is None:
        return 0
    analyzer = FaceAnalyzer(load_pack(args.model))
    side, plan = PLANS["default"]
    embs = {}
    for name in labels["images"]:
        faces = analyzer.analyze(decode(args.faces / name, side), plan)
        rows = [f.embedding for f in faces if f.embedding is not None]
        embs[name] = np.stack(rows) if rows else np.zeros((0, 512), np.float32)
    genuine, impostor = [], []
    for ident, refs in labels["refs"].items():
        profile = build_profile(analyzer, [args.faces / r for r in refs], "calib")
        for name, people in labels["images"].items():
            if name in refs or ident in labels.get("unsure", {}).get(name, []):
                continue
            sims = similarities(embs[name], profile.embeddings)
            best = float(sims.max()) if sims.size else -1.0
            (genuine if ident in people else impostor).append((best, ident, name))
    genuine.sort()
    impostor.sort(reverse=True)
    print("lowest genuine:", [(round(s, 3), i, n) for s, i, n in genuine[:6]])
    print("highest impostor:", [(round(s, 3), i, n) for s, i, n in impostor[:6]])
    g = np.array([s for s, _, _ in genuine])
    im = np.array([s for s, _, _ in impostor])
    for t in np.arange(0.20, 0.56, 0.02):
        tp, fp = int((g >= t).sum()), int((im >= t).sum())
        prec = tp / (tp + fp) if tp + fp else 1.0
        print(f"threshold {t:.2f}: precision {prec:.3f} recall {tp / len(g):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
