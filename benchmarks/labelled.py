"""The labelled photos in ``../shared/faces`` (labels.json: identities per image, two reference
photos per identity, and images whose identity is unsure), for the benchmarks that use them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"


def add_faces_option(parser: argparse.ArgumentParser) -> None:
    """``--faces DIR``: where the labelled photos are (default: ../shared/faces)."""
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)


def load_labels(folder: Path) -> dict[str, Any] | None:
    """The parsed labels.json of ``folder``, or None (and a line saying the benchmark is
    skipped) when the folder has none."""
    labels_file = folder / "labels.json"
    if not labels_file.is_file():
        print(f"skipped: {labels_file} not found")
        return None
    return json.loads(labels_file.read_text())
