"""``selfscan doctor``: what is installed and whether selfscan can work, as data."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .config import data_dir, loose_permissions
from .devices import cuda_problem, onnxruntime
from .errors import SelfscanError
from .index import Index, index_path
from .models import LICENCE, PACKS, active_pack_name, bad_copies, find_pack, load_pack


def diagnose() -> dict[str, Any]:
    """Versions, weights and checksums, providers, formats, data dir and its permissions."""
    from PIL import features

    ort = onnxruntime()

    packs = []
    for name, spec in PACKS.items():
        pack = find_pack(name)
        bad = bad_copies(name)  # a damaged copy is said even when another one is used
        packs.append(
            {
                "name": name,
                "installed": pack is not None,
                "directory": str(pack.directory) if pack else None,
                "files": {
                    spec.detector: spec.detector_sha256,
                    spec.recognizer: spec.recognizer_sha256,
                },
                "checksums": "ok" if pack else ("mismatch" if bad else "missing"),
                "mismatches": bad,
                "model_id": pack.model_id if pack else None,
            }
        )
    # What stops selfscan from working: doctor exits 1 when there is any.
    problems = []
    try:
        load_pack()
    except SelfscanError as exc:
        problems.append(f"active model: {exc}")
    unwritable = _unwritable(data_dir())
    if unwritable:
        problems.append(unwritable)
    index_problem = _index_problem()
    if index_problem:
        problems.append(index_problem)
    versions = {"selfscan": __version__, "python": sys.version.split()[0]}
    for mod in (
        "onnxruntime",
        "insightface",
        "PIL",
        "numpy",
        "cv2",
        "typer",
        "rich",
        "pillow_heif",
        "av",
    ):
        versions[mod] = _version(mod)
    home = data_dir()
    formats = ["jpeg", "png", "webp", "bmp", "tiff", "gif"]
    if versions.get("pillow_heif"):
        formats.append("heic")
    if features.check("avif") or versions.get("pillow_heif"):
        formats.append("avif")
    if versions.get("av"):
        formats.append("video")
    return {
        "versions": versions,
        "platform": platform.platform(),
        "active_model": active_pack_name(),
        "packs": packs,
        "licence": LICENCE,
        "providers": ort.get_available_providers(),
        "cuda": "usable" if (why := cuda_problem()) is None else f"not usable: {why}",
        "formats": formats,
        "data_dir": str(home),
        "data_dir_exists": home.exists(),
        "index": str(index_path()),
        "permission_problems": loose_permissions(home),
        "index_problem": index_problem,
        "cpu_count": os.cpu_count(),
        "problems": problems,
    }


def _unwritable(home: Path) -> str | None:
    """Why selfscan could not write its data dir (or make it), or None: a read-only mount or
    permissions, where every scan, enroll and forget would fail."""
    folder = home
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent  # not made yet: where it would be made
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    where = f"the data dir {home}" if folder == home else f"{folder}, where the data dir goes,"
    return (
        f"{where} cannot be written (its permissions, or a read-only file system): scans, "
        "enroll and forget need to write there; fix that, or set SELFSCAN_HOME to a writable "
        "folder"
    )


def _index_problem() -> str | None:
    """Why the index cannot be used, or None (also when there is none yet)."""
    if not index_path().exists():
        return None
    try:
        index = Index(index_path())
        try:
            index.check()
        finally:
            index.close()
    except SelfscanError as exc:
        return str(exc)
    return None


def _version(module: str) -> str | None:
    """An installed distribution's version, read from its metadata (importing insightface would
    pull in its downloader)."""
    from importlib.metadata import PackageNotFoundError, version

    names = {
        "PIL": ["pillow"],
        "cv2": ["opencv-python", "opencv-python-headless"],
        "pillow_heif": ["pillow-heif"],
    }
    for dist in names.get(module, [module]):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None
