"""Sample frames from videos: about one a second, capped per video, upright. Needs PyAV.

PyAV is optional and imported on first use. Short videos are decoded straight through (cheaper
than seeking when the samples are close together); long ones are sampled evenly by seeking to
each point, so a two-hour film costs the same few dozen decodes as a two-minute clip.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FileError
from .exportjson import camera_name
from .facts import header_text, video_location
from .imagefile import Source, open_file, size_problem
from .names import SNIFF_BYTES, unidentified_reason
from .types import DecodedImage
from .videoread import (
    SEEK_SPACING,
    Reading,
    av_reason,
    frame_seconds,
    measured,
    seeking,
    straight,
    stream_end,
)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".webm", ".mkv"})
_MISSING = "video support needs PyAV: pip install 'selfscan[video]'"


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise FileError(_MISSING, transient=True) from None
    return av


@contextmanager
def _opened(source: Source) -> Iterator[tuple[Any, Any]]:
    """The container and its first video stream; every failure is a ``FileError``."""
    av = _av()
    if isinstance(source, bytes) and not source:
        raise FileError("empty file (0 bytes)")
    fh = io.BytesIO(source) if isinstance(source, bytes) else open_file(source)[0]
    try:
        try:
            container = av.open(fh, "r")
        except Exception as exc:
            raise FileError(_unread_reason(fh, exc)) from None
        with container:
            if not container.streams.video:
                raise FileError("no video stream in the file")
            stream = container.streams.video[0]
            _check_size(stream.width or 0, stream.height or 0)
            stream.thread_type = "AUTO"
            yield container, stream
    finally:
        fh.close()


def _unread_reason(fh: Any, exc: Exception) -> str:
    """Why a file no demuxer opened is no video: what its first bytes are when they say (plain
    text, HTML, a PDF), else the demuxer's reason."""
    try:
        fh.seek(0)
        head = fh.read(SNIFF_BYTES)
    except (OSError, ValueError):
        head = b""
    said = unidentified_reason(head) if head else ""
    if said.startswith("not an image: the file is ") and "video" not in said:  # a damaged one
        return "not a video: " + said.removeprefix("not an image: ")
    return f"not a readable video (damaged, truncated or another format): {av_reason(exc)}"


def _check_size(width: int, height: int) -> None:
    """Frames over the photos' pixel or side limit are refused before one is decoded: each decoded
    frame costs about 12 bytes a pixel (a 16000x16000 video held 3.2 GB in one worker)."""
    if width <= 0 or height <= 0:  # not in the header: the frames' own sizes are checked
        return
    problem = size_problem(width, height, "video frames are")
    if problem is not None:
        raise FileError(problem)


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _display_size(frame: Any, sar: Fraction | None) -> tuple[int, int]:
    """Stored frame size with non-square pixels stretched, before rotation."""
    width, height = frame.width, frame.height
    if sar and sar > 0 and sar != 1:
        width = max(1, round(width * float(sar)))
    return width, height


def _quarter_turns(frame: Any) -> int:
    """Counter-clockwise quarter turns that make ``frame`` upright (phones record sideways and
    store a display matrix)."""
    try:
        rotation = frame.rotation
    except Exception:
        return 0
    return round(rotation / 90) % 4 if rotation else 0


def _to_image(frame: Any, max_side: int | None, sar: Fraction | None) -> DecodedImage:
    _check_size(frame.width, frame.height)  # the size may change within a stream
    width, height = _display_size(frame, sar)
    ratio = min(1.0, max_side / max(width, height)) if max_side else 1.0
    out_w, out_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    pixels = frame.reformat(
        width=out_w, height=out_h, format="bgr24", interpolation="AREA"
    ).to_ndarray()
    turns = _quarter_turns(frame)
    if turns:
        pixels = np.rot90(pixels, turns)
        width, height = (height, width) if turns % 2 else (width, height)
    pixels = np.ascontiguousarray(pixels)
    return DecodedImage(
        pixels=pixels,
        scale=width / pixels.shape[1],
        width=width,
        height=height,
        orientation=1,
        format="video",
    )


def sample_times(duration: float | None, every: float, max_frames: int) -> list[float] | None:
    """Seconds to sample: every ``every`` seconds from 0, or ``max_frames`` evenly spread when
    that would be too many; None when the duration is unknown."""
    if duration is None or not math.isfinite(duration) or duration <= 0:
        return None
    count = max(1, math.ceil(duration / every - 1e-9))
    if count <= max_frames:
        return [i * every for i in range(count)]
    return [(i + 0.5) * duration / max_frames for i in range(max_frames)]


def iter_frames(
    source: Source, max_side: int, every: float = 1.0, max_frames: int = 60
) -> Iterator[tuple[float, DecodedImage]]:
    """Frames of the video ``source`` as ``(seconds from the start, upright image)``.

    About one frame each ``every`` seconds, at most ``max_frames`` (spread evenly over a long
    video), each scaled so that its long side is at most ``max_side``. A video without a
    duration in its header (a browser's or a live recording's WebM) is measured first. Packets
    that do not decode are skipped and the rest is read; a video with damage, or cut short of
    the length its header gives, yields what could be read, then raises ``VideoDamaged``.

    Raises:
        FileError: when PyAV is missing or the file is not a readable video (raised before the
            first frame, or at the first frame when nothing at all can be decoded).
    """
    if every <= 0 or max_frames <= 0:
        return
    with _opened(source) as (container, stream):
        start = stream.start_time * stream.time_base if stream.start_time else 0
        duration = _duration(container, stream)
        if duration is None:
            duration = measured(container, stream, start)
        targets = sample_times(duration, every, max_frames)
        rate = stream.average_rate or stream.guessed_rate or 30
        tolerance = 0.5 / float(rate)
        read = Reading(container, stream, start)
        produced, last = 0, 0.0
        try:
            if targets and len(targets) > 1 and targets[1] - targets[0] >= SEEK_SPACING:
                frames = seeking(read, targets, tolerance, float(rate))
            else:
                frames = straight(read, targets, tolerance, every, max_frames)
            for seconds, frame in frames:
                image = _to_image(frame, max_side, stream.sample_aspect_ratio)
                produced, last = produced + 1, seconds
                yield seconds, image
        except FileError:
            raise
        except Exception as exc:  # the container itself, not one packet
            if produced == 0:
                raise FileError(f"cannot decode video: {av_reason(exc)}") from None
            read.broken = True
        if produced == 0:
            raise FileError(
                f"cannot decode video: {read.first_error}"
                if read.first_error
                else "no frame could be decoded from the video"
            )
        # Frames stop before the last sampling time (by more than one interval) and the packets
        # before the end the stream's header gives: the file is cut short. (A last frame held on
        # screen, or audio running on after the video, stops the frames early too.)
        spacing = targets[1] - targets[0] if targets and len(targets) > 1 else every
        missed = bool(targets) and last < targets[-1] - max(1.0, spacing)  # type: ignore[index]
        problem = read.problem(stream_end(stream, start) if missed else None, last, duration)
        if problem is not None:
            raise VideoDamaged(problem)


class VideoDamaged(FileError):
    """A video read only in part; raised after the frames that could be read."""


def frame_at(source: Source, seconds: float, max_side: int) -> DecodedImage:
    """The first frame at or after ``seconds`` (the last frame when ``seconds`` is past the
    end), upright, long side at most ``max_side``: reached by seeking, for previews.

    Raises:
        FileError: when PyAV is missing or no frame can be decoded.
    """
    with _opened(source) as (container, stream):
        start = stream.start_time * stream.time_base if stream.start_time else 0
        rate = stream.average_rate or stream.guessed_rate or 30
        target = max(0.0, seconds)
        chosen = None
        try:
            container.seek(int((target + start) / stream.time_base), stream=stream, backward=True)
            for frame in Reading(container, stream, start).frames():
                chosen = frame
                moment = frame_seconds(frame, start)
                if moment is None or moment + 0.5 / float(rate) >= target:
                    break
        except Exception as exc:
            if chosen is None:
                raise FileError(f"cannot decode video: {av_reason(exc)}") from None
        if chosen is None:
            raise FileError("no frame could be decoded from the video")
        return _to_image(chosen, max_side, stream.sample_aspect_ratio)


def video_info(source: Source) -> dict[str, Any]:
    """What the container says about a video, plus the first frame's rotation.

    Returns:
        ``duration`` (seconds or None), upright ``width``/``height``, ``codec``, ``fps``,
        ``frames`` (None when the container does not say), ``rotation`` (degrees
        counter-clockwise applied to make frames upright), ``creation_time`` (the container's
        tag as written, None when absent), ``format``, ``gps`` (the ``location`` tag a phone
        writes, as ``latitude``/``longitude``/``altitude``, or None) and ``device`` (the
        phone's make and model, or None).

    Raises:
        FileError: when PyAV is missing or the file is not a readable video.
    """
    with _opened(source) as (container, stream):
        turns = 0
        width, height = stream.width, stream.height
        start = stream.start_time * stream.time_base if stream.start_time else 0
        read = Reading(container, stream, start)
        try:
            frame = next(read.frames(), None)
        except Exception as exc:
            raise FileError(f"cannot decode video: {av_reason(exc)}") from None
        if frame is None and read.first_error:
            raise FileError(f"cannot decode video: {read.first_error}")
        if frame is not None:
            width, height = _display_size(frame, stream.sample_aspect_ratio)
            turns = _quarter_turns(frame)
        if turns % 2:
            width, height = height, width
        tags = {**stream.metadata, **container.metadata}
        created = tags.get("com.apple.quicktime.creationdate") or tags.get("creation_time")
        rate = stream.average_rate or stream.guessed_rate
        return {
            "duration": _duration(container, stream) or measured(container, stream, start),
            "width": width,
            "height": height,
            "codec": stream.codec_context.name,
            "fps": float(rate) if rate else None,
            "frames": stream.frames or None,
            "rotation": turns * 90,
            "creation_time": created or None,
            "format": container.format.name,
            "gps": video_location(tags),
            "device": camera_name(
                _tag(tags, "com.apple.quicktime.make", "com.android.manufacturer", "make"),
                _tag(tags, "com.apple.quicktime.model", "com.android.model", "model"),
            ),
        }


def _tag(tags: dict[str, str], *keys: str) -> str | None:
    """The first of ``keys`` that the container's tags hold as text, cleaned as EXIF text is
    (``facts.header_text``)."""
    return next((text for key in keys if (text := header_text(tags.get(key)))), None)


def is_video(path: str | Path) -> bool:
    """Whether ``path`` has a video extension."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
