"""Analyse one item in a worker process: read, decode, detect, embed. Returns an ``Analysis``.

Each worker process owns one ``FaceAnalyzer`` (its own onnxruntime sessions, one intra-op thread)
built by ``init_worker``. Every per-item failure becomes ``Analysis(error=...)``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import quiet
from .devices import trust_cuda
from .errors import FileError, ModelError
from .faces import MIN_EMBED_PX, DetectPlan, FaceAnalyzer
from .fingerprints import fingerprint_bytes, fingerprint_file, open_regular
from .geometry import landmark_span
from .images import decode, decode_window
from .models import PACKS, ModelPack
from .names import SNIFF_BYTES, media_kind
from .turns import best_turn, sideways_turn, turn_back, turns_to_try
from .types import Analysis, DecodedImage, Face, Job

# How each mode looks for faces: the decoded long side and the detector passes (a side of at
# most 1 is a fraction of the decoded image's). A pass with a threshold below 0.5 proposes
# candidates that a zoomed second look must confirm. Chosen with benchmarks/smallfaces.py on 12
# MP frames (recall on pasted faces, precision, CPU ms per image): quick finds faces from about
# 150 px; default from about 40 px (the 320 pass keeps close-ups, which a large input alone
# misses); thorough looks at full resolution. Default and thorough work at a fraction of the
# photo's own size (DECODE_FRACTION), so that a 48 MP photo or a panorama is searched for faces
# as small as a 12 MP photo is (at 12 MP: 2016 px, and 4032 px for thorough).
PLANS: dict[str, tuple[int | None, DetectPlan]] = {
    "quick": (640, DetectPlan(long_sides=(320, 640))),
    "default": (1280, DetectPlan(long_sides=(320, 1.0), thresholds=(0.5, 0.05))),
    "thorough": (None, DetectPlan(long_sides=(320, 0.5, 1.0), thresholds=(0.5, 0.05, 0.05))),
}
# Decoded at least at this fraction of the photo's long side (default: half size).
DECODE_FRACTION = {"default": 0.5}
# Video frames are decoded at most this large.
VIDEO_SIDE = {"quick": 640, "default": 1280, "thorough": 2048}


# Faces whose eye-to-mouth span is below this many decoded pixels (but at least MIN_EMBED_PX in
# the original) are embedded from a full-resolution decode of the image.
REREAD_SPAN = 12.0

_analyzer: FaceAnalyzer | None = None


def init_worker(pack_name: str, pack_dir: str, device: str, threads: int) -> None:
    """Process initialiser: leave Ctrl-C and a closed terminal to the parent, exit with the
    parent, capture what C libraries print, and load the models."""
    # Both are sent to the whole process group; the parent stops the scan and its workers.
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    _exit_with_parent()
    quiet.enable()  # libjpeg's and libtiff's own messages stay off the terminal
    if device == "cuda":  # the scan found it working before starting the workers
        trust_cuda()
    set_analyzer(FaceAnalyzer(ModelPack(PACKS[pack_name], Path(pack_dir)), device, threads))


def _exit_with_parent() -> None:
    """A worker whose parent is gone (killed with -9, crashed) would wait for ever on a pipe no
    one reads, holding its memory: it exits within a second of being orphaned."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="selfscan-parent", daemon=True).start()


def set_analyzer(analyzer: FaceAnalyzer) -> None:
    """Use ``analyzer`` for jobs run in this process."""
    global _analyzer
    _analyzer = analyzer


def run_job(job: Job) -> Analysis:
    """Analyse one item; never raises for a problem with the item itself."""
    assert _analyzer is not None, "init_worker or set_analyzer first"
    source: str | bytes = job.data if job.data is not None else str(job.fs_path)
    fingerprint = job.fingerprint
    try:
        if fingerprint is None:
            fingerprint = (
                fingerprint_bytes(job.data)
                if job.data is not None
                else fingerprint_file(str(job.fs_path), job.size)
            )
        video = _content_kind(source, job.kind) == "video"
        analysis = _analyse_video(source, job) if video else _analyse(source, job)
        analysis = replace(analysis, fingerprint=fingerprint)
        if job.fs_path is not None:
            _check_unchanged(job)
        return analysis
    except ModelError:
        raise  # the models cannot run: no file can be analysed, so the scan stops and says why
    except Exception as exc:
        failed = _failure(exc)
        if job.fs_path is not None and not isinstance(exc, MemoryError):
            # A file cut short or replaced under the reader fails in odd ways ("invalid
            # argument", "is a directory", a corrupt image): say what really happened.
            try:
                _check_unchanged(job)
            except FileError as changed:
                return Analysis(error=changed.reason, transient=True)
            except OSError:
                pass
        # A damaged file keeps its fingerprint: a copy of it is known as the same damaged file.
        return failed if failed.transient else replace(failed, fingerprint=fingerprint)


# How onnxruntime and OpenCV say they could not allocate (a memory limit, a full machine).
_OUT_OF_MEMORY = ("bad_alloc", "Insufficient memory", "Failed to allocate", "bfc_arena")


def _failure(exc: Exception) -> Analysis:
    """What an exception raised while analysing one item means for that item."""
    if isinstance(exc, FileError):
        return Analysis(error=exc.reason, transient=exc.transient)
    if isinstance(exc, FileNotFoundError):
        return Analysis(error="file disappeared during the scan", transient=True)
    if isinstance(exc, PermissionError):
        return Analysis(error="permission denied", transient=True)
    text = str(exc)
    if isinstance(exc, MemoryError) or any(m in text for m in _OUT_OF_MEMORY):
        return Analysis(
            error="out of memory while analysing this file (fewer --workers, or --quick, need "
            "less)",
            transient=True,
        )
    if isinstance(exc, OSError):
        reason = (exc.strerror or str(exc)).lower()
        return Analysis(error=f"cannot read: {reason}", transient=True)
    # A defect must cost one file, never the scan; a later version may read it.
    return Analysis(
        error=f"internal error while analysing this file: {type(exc).__name__}: "
        f"{' '.join(str(exc).split())} (please report it)",  # OpenCV's span lines
        transient=True,
    )


def _content_kind(source: str | bytes, named: str) -> str:
    """``image`` or ``video`` by the file's first bytes where they say so, else by its name: a
    photo named ``.mp4`` was read as a one-frame video (its date and place lost), a video
    named ``.jpg`` refused as "not an image"."""
    if isinstance(source, bytes):
        head = source[:SNIFF_BYTES]
    else:
        with open_regular(source) as fh:
            head = fh.read(SNIFF_BYTES)
    return media_kind(head) or named


def _check_unchanged(job: Job) -> None:
    try:
        st = os.stat(str(job.fs_path))
    except FileNotFoundError:
        raise FileError("file disappeared during the scan", transient=True) from None
    if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
        raise FileError(
            "file changed while it was being scanned; scan again to include it", transient=True
        )


def _analyse(source: str | bytes, job: Job) -> Analysis:
    assert _analyzer is not None
    decode_side, plan = PLANS[job.mode]
    # Only the default mode embeds small faces from full resolution (quick never does, and
    # thorough decodes at full resolution): only it keeps the whole image decoded.
    fraction = DECODE_FRACTION.get(job.mode, 0.0)
    image = decode(source, decode_side, fraction, keep_whole=job.mode == "default")
    faces = _analyzer.detect(image, plan)
    clarity: list[float] = []
    if faces:
        faces, clarity = _embedded(source, image, faces, job.mode)
    tried = turns_to_try(job.mode, image, faces, clarity)
    turned = _turned(image, plan, clarity, tried) if tried else None
    facts = _photo_facts(source)
    turns = None
    if turned is not None:
        faces, turns = turned
    elif tried:  # read as it is, a face on its side aligned upright: still shown turned
        turns = sideways_turn(faces, clarity)
    if turns is not None:
        # Said, so that a person (and the report's thumbnail) sees the photo the right way up.
        facts.setdefault("photo", {})["turned"] = 90 * turns
    return Analysis(
        faces=tuple(faces),
        width=image.width,
        height=image.height,
        orientation=image.orientation,
        facts=facts,
    )


def _embedded(
    source: str | bytes, image: DecodedImage, faces: list[Face], mode: str
) -> tuple[list[Face], list[float]]:
    """``FaceAnalyzer.embed_scored`` for ``faces`` found in ``image``, a face large enough in the
    original but small in the reduced pixels embedded from the original's full resolution.
    Measured (smallfaces.py): a 50 px face embedded from a half-size decode scores 0.30-0.70
    against the same person (median 0.70), from full resolution 0.80-0.90; at 40 px 0.60
    against 0.83. Only the window around those faces is decoded again where that costs less (see
    ``images.decode_window``); the other faces are embedded from ``image``."""
    assert _analyzer is not None
    small = []
    if mode != "quick" and image.scale > 1.0:
        limit = REREAD_SPAN * image.scale
        small = [
            i for i, f in enumerate(faces) if MIN_EMBED_PX <= landmark_span(f.landmarks) < limit
        ]
    if not small:
        return _analyzer.embed_scored(image, faces)
    windows = np.array([_analyzer.embed_window(faces[i]) for i in small])
    box = (*windows[:, :2].min(axis=0), *windows[:, 2:].max(axis=0))
    sharp = decode_window(source, box, image)
    others = sorted(set(range(len(faces))) - set(small))
    out, clarity = list(faces), [0.0] * len(faces)
    for pixels_from, part in ((image, others), (sharp, small)):
        done, scores = _analyzer.embed_scored(pixels_from, [faces[i] for i in part])
        for i, face, score in zip(part, done, scores, strict=True):
            out[i], clarity[i] = face, score
    return out, clarity


def _turned(
    image: DecodedImage, plan: DetectPlan, clarity: list[float], tried: tuple[int, ...]
) -> tuple[list[Face], int] | None:
    """Faces of a photo stored sideways or upside down without an EXIF orientation, and the
    quarter turns (clockwise) that show it upright; None when it is the right way up (see
    ``turns.best_turn``) or nothing is found turned. Boxes and landmarks come back in the
    coordinates of ``image`` as stored."""
    assert _analyzer is not None
    best = best_turn(_analyzer, image, clarity, tried)
    if best is None:
        return None
    turns, turned = best
    faces = [
        turn_back(f, turns, image.width, image.height) for f in _analyzer.analyze(turned, plan)
    ]
    return (faces, turns) if faces else None


def _photo_facts(source: str | bytes) -> dict:
    try:
        from .facts import photo_facts
    except ImportError:
        return {}
    return {"photo": photo_facts(source)}


def _analyse_video(source: str | bytes, job: Job) -> Analysis:
    assert _analyzer is not None
    from .video import VideoDamaged, iter_frames, video_info

    plan = PLANS[job.mode][1]
    faces: list[Face] = []
    width = height = None
    damaged = None
    try:
        for t, frame in iter_frames(source, max_side=VIDEO_SIDE[job.mode]):
            width, height = frame.width, frame.height
            faces.extend(replace(f, time=t) for f in _analyzer.analyze(frame, plan))
    except VideoDamaged as exc:
        damaged = exc.reason
    if damaged and not faces:  # "no face" would claim the whole video was looked at
        raise FileError(damaged)
    info = {**video_info(source), "file_size": job.size}
    if damaged:  # the faces found before the damage count; the reports say what was missed
        info["damaged"] = damaged
    return Analysis(faces=tuple(faces), width=width, height=height, facts={"video": info})
