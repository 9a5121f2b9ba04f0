"""Reading a video's frames for sampling: packet by packet, so that a damaged stretch costs only
itself; straight through, or by seeking to each sampling time; and measuring a video whose
header gives no length. Used by :mod:`selfscan.video`, which turns the frames into images.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

# Samples further apart than this are reached by seeking rather than by decoding every frame.
SEEK_SPACING = 4.0


def av_reason(exc: BaseException) -> str:
    """An FFmpeg error in a user's words, at most 160 characters."""
    # FFmpeg errors carry a readable strerror; their str() adds an errno and '<none>'.
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# The most frames decoded for one video: a video whose key frames are far apart (a screen
# recording, one key frame for the whole file) costs a decode from the key frame for each sample.
MAX_DECODED = 18_000


class Reading:
    """Decoded frames of a video's stream, packet by packet: a packet that does not decode is
    counted and skipped (one damaged spot cost the rest of the video), the end of the last
    packet read is kept (a file cut short ends before its header says), and so is the number of
    frames decoded, against ``MAX_DECODED``."""

    def __init__(self, container: Any, stream: Any, start: Fraction | int) -> None:
        self.container, self.stream, self.start = container, stream, start
        self.bad = 0
        self.first_error: str | None = None
        self.end = 0.0  # seconds: the end of the last packet read
        self.decoded = 0
        self.broken = False  # the container failed: nothing after it was read
        self.budget_spent = False

    def frames(self) -> Iterator[Any]:
        for packet in self.container.demux(self.stream):
            if packet.pts is not None and packet.time_base is not None:
                span = packet.duration or 0
                self.end = max(self.end, float((packet.pts + span) * packet.time_base - self.start))
            try:
                decoded = packet.decode()
            except Exception as exc:  # this packet only: the next key frame decodes again
                self.bad += 1
                self.first_error = self.first_error or av_reason(exc)
                continue
            for frame in decoded:
                self.decoded += 1
                if self.decoded > MAX_DECODED:
                    self.budget_spent = True
                    return
                yield frame

    def problem(self, stream_end: float | None, last: float, duration: float | None) -> str | None:
        """What the reports say about a video read only in part, or None."""
        total = f" of {duration:.1f} s" if duration else ""
        if self.budget_spent:
            return (
                f"examined up to {last:.1f} s{total} only: its key frames are too far apart "
                "to sample the rest in time"
            )
        if self.broken:
            return f"video damaged after {last:.1f} s{total}: the rest could not be read"
        if stream_end is not None and self.end < stream_end - 1.0:
            return f"video cut short after {self.end:.1f} s{total}: the rest is missing"
        if self.bad:
            parts = f"{self.bad} damaged part{'s' if self.bad > 1 else ''}"
            return f"video partly damaged: {parts} skipped, the rest read"
        return None


def stream_end(stream: Any, start: Fraction | int) -> float | None:
    """Where the video stream itself ends by its header (not the container's other streams:
    a recording's audio may run on), or None when it does not say."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def measured(container: Any, stream: Any, start: Fraction | int) -> float | None:
    """The length of a video whose header gives none, from its packets' times (read, not
    decoded), then back to the start; None when that fails too."""
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                span = packet.duration or 0
                end = max(end, float((packet.pts + span) * packet.time_base - start))
        container.seek(0)
    except Exception:
        return None
    return end or None


def frame_seconds(frame: Any, start: Fraction | int) -> float | None:
    """Seconds from the video's start to ``frame``, None when the frame has no time."""
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base - start)


def straight(
    read: Reading,
    targets: list[float] | None,
    tolerance: float,
    every: float,
    max_frames: int,
    frames: Iterator[Any] | None = None,
) -> Iterator[tuple[float, Any]]:
    """Decode every frame (from ``frames``, where a seek left off), keep the first at or after
    each sampling time."""
    pending = list(targets) if targets is not None else None
    next_time = 0.0
    taken = 0
    for index, frame in enumerate(frames if frames is not None else read.frames()):
        seconds = frame_seconds(frame, read.start)
        if seconds is None:
            seconds = index / 30.0
        if pending is not None:
            if not pending:
                return
            if seconds + tolerance < pending[0]:
                continue
            while pending and pending[0] <= seconds + tolerance:
                pending.pop(0)
        else:
            if seconds + tolerance < next_time:
                continue
            next_time = seconds + every
        yield max(0.0, seconds), frame
        taken += 1
        if taken >= max_frames:
            return


def seeking(
    read: Reading, targets: list[float], tolerance: float, rate: float
) -> Iterator[tuple[float, Any]]:
    """Seek to the key frame before each sampling time and decode forward to it. Where key
    frames are further apart than the samples, each seek would decode the same stretch again
    (a cost growing with the square of the length): from there on, decode straight through."""
    last = -1.0
    container, stream = read.container, read.stream
    spacing = targets[1] - targets[0] if len(targets) > 1 else SEEK_SPACING
    for n, target in enumerate(targets):
        container.seek(int((target + read.start) / stream.time_base), stream=stream, backward=True)
        frames = read.frames()
        walked = 0
        for frame in frames:
            seconds = frame_seconds(frame, read.start)
            walked += 1
            if seconds is None or seconds + tolerance < target:
                continue
            if seconds > last:
                last = seconds
                yield seconds, frame
            break
        if walked > rate * spacing:  # the key frame was more than a sample back
            rest = [t for t in targets[n + 1 :] if t > last]
            yield from straight(read, rest, tolerance, spacing, len(rest), frames)
            return
