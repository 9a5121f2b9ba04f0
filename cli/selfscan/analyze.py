"""Analyse one item in a worker process: read, decode, detect, embed. Returns an ``Analysis``.

Each worker process owns one ``FaceAnalyzer`` (its own onnxruntime sessions, one intra-op thread)
built by ``init_worker``. Every per-item failure becomes ``Analysis(error=...)``.
"""

from __future__ import annotations

import hashlib
import os
import signal
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import FileError
from .faces import DetectPlan, FaceAnalyzer
from .images import decode
from .models import PACKS, ModelPack
from .types import Analysis, Face, ItemKind

# How each mode looks for faces: the decoded long side and the detector passes (see README,
# "Speed and small faces").
PLANS: dict[str, tuple[int, DetectPlan]] = {
    "quick": (640, DetectPlan(long_sides=(640,))),
    "default": (1280, DetectPlan(long_sides=(640, 1280))),
    "thorough": (2048, DetectPlan(long_sides=(640, 1280, 2048))),
}

_analyzer: FaceAnalyzer | None = None


@dataclass(frozen=True)
class Job:
    """What a worker needs to analyse one item (small to pickle: a path, or member bytes)."""

    kind: ItemKind
    mode: str
    size: int
    mtime_ns: int
    fs_path: str | None = None
    data: bytes | None = None
    fingerprint: str | None = None


def init_worker(pack_name: str, pack_dir: str, device: str, threads: int) -> None:
    """Process initialiser: ignore Ctrl-C (the parent handles it) and load the models."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_analyzer(FaceAnalyzer(ModelPack(PACKS[pack_name], Path(pack_dir)), device, threads))


def set_analyzer(analyzer: FaceAnalyzer) -> None:
    """Use ``analyzer`` for jobs run in this process."""
    global _analyzer
    _analyzer = analyzer


def fingerprint_file(path: str, size: int) -> str:
    """A cheap content fingerprint: size + first and last 64 KiB. Finds moved files."""
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as fh:
        digest.update(fh.read(65536))
        if size > 131072:
            fh.seek(-65536, os.SEEK_END)
            digest.update(fh.read(65536))
    return digest.hexdigest()


def fingerprint_bytes(data: bytes) -> str:
    """Fingerprint of in-memory content (archive members), same scheme as for files."""
    digest = hashlib.blake2b(str(len(data)).encode(), digest_size=16)
    digest.update(data[:65536])
    if len(data) > 131072:
        digest.update(data[-65536:])
    return digest.hexdigest()


def run_job(job: Job) -> Analysis:
    """Analyse one item; never raises for a problem with the item itself."""
    assert _analyzer is not None, "init_worker or set_analyzer first"
    source: str | bytes = job.data if job.data is not None else str(job.fs_path)
    try:
        fingerprint = job.fingerprint
        if fingerprint is None:
            fingerprint = (
                fingerprint_bytes(job.data)
                if job.data is not None
                else fingerprint_file(str(job.fs_path), job.size)
            )
        analysis = _analyse_video(source, job) if job.kind == "video" else _analyse(source, job)
        analysis = replace(analysis, fingerprint=fingerprint)
        if job.fs_path is not None:
            _check_unchanged(job)
        return analysis
    except FileError as exc:
        return Analysis(error=exc.reason)
    except FileNotFoundError:
        return Analysis(error="file disappeared during the scan")
    except PermissionError:
        return Analysis(error="permission denied")
    except MemoryError:
        return Analysis(error="out of memory while analysing this file")
    except OSError as exc:
        return Analysis(error=f"read error: {exc.strerror or exc}")


def _check_unchanged(job: Job) -> None:
    try:
        st = os.stat(str(job.fs_path))
    except FileNotFoundError:
        raise FileError("file disappeared during the scan") from None
    if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
        raise FileError("file changed while it was being scanned; scan again to include it")


def _analyse(source: str | bytes, job: Job) -> Analysis:
    assert _analyzer is not None
    decode_side, plan = PLANS[job.mode]
    image = decode(source, decode_side)
    faces = _analyzer.analyze(image, plan)
    return Analysis(
        faces=tuple(faces),
        width=image.width,
        height=image.height,
        orientation=image.orientation,
        facts=_photo_facts(source),
    )


def _photo_facts(source: str | bytes) -> dict:
    try:
        from .facts import photo_facts
    except ImportError:
        return {}
    return {"photo": photo_facts(source)}


def _analyse_video(source: str | bytes, job: Job) -> Analysis:
    assert _analyzer is not None
    from .video import iter_frames, video_info

    decode_side, plan = PLANS[job.mode]
    faces: list[Face] = []
    width = height = None
    for t, frame in iter_frames(source, max_side=decode_side):
        width, height = frame.width, frame.height
        faces.extend(replace(f, time=t) for f in _analyzer.analyze(frame, plan))
    return Analysis(
        faces=tuple(faces), width=width, height=height, facts={"video": video_info(source)}
    )
