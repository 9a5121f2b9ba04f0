"""Small previews of results: JPEG thumbnails with the matching face boxed, and perceptual hashes
that recognise the same photo stored twice (copied, resized or re-encoded).

Everything here reads files read-only through ``locate`` and never raises for a bad file: a
thumbnail or hash that cannot be made is None.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from .errors import FileError
from .images import open_for_thumbnail
from .locate import read_bytes, split_path
from .types import FileResult

THUMB_SIDE = 320
THUMB_QUALITY = 80
BOX_COLOUR = (255, 196, 0)
OTHER_COLOUR = (255, 255, 255)
_HASH_SIZE = 8


FACE_SIDE = 160  # the enlarged face beside a thumbnail where the face is small in it
SMALL_IN_THUMB = 48  # px: a face shorter than this in the thumbnail is also shown enlarged
_FACE_MARGIN = 0.35  # of the face's size, on each side of the enlarged face


@dataclass(frozen=True)
class Preview:
    """A result's thumbnail (JPEG bytes), its perceptual hash, and the best face enlarged (JPEG
    bytes, only where the face is small in the thumbnail); any may be None."""

    jpeg: bytes | None
    phash: str | None
    face: bytes | None = None


def thumbnail(
    path: str, result: FileResult, max_side: int = THUMB_SIDE, threshold: float | None = None
) -> bytes | None:
    """A JPEG of the upright photo, long side at most ``max_side``, with the matching face boxed.

    The best face is boxed; with ``threshold``, every other face at least that similar is boxed
    too, thinner. Videos show the frame where the person was seen best. None when the file can
    no longer be read.
    """
    return preview(path, result, max_side, threshold).jpeg


def preview(
    path: str,
    result: FileResult,
    max_side: int = THUMB_SIDE,
    threshold: float | None = None,
    data: bytes | None = None,
) -> Preview:
    """The thumbnail and the perceptual hash of ``path`` (or of its bytes ``data``, already
    read), decoding it once."""
    try:
        source = data if data is not None else _source(path)
        if result.facts.get("video"):
            if isinstance(source, str) and not os.path.isfile(source):
                return Preview(None, None)
            try:
                frame = _video_frame(source, result.facts.get("best_time"), max_side)
            except FileError:  # no video support here, or a frame that no longer decodes
                frame = None
            if frame is None:
                return Preview(_encode(_placeholder(max_side)), None)
            best_time = result.facts.get("best_time")
            face = _enlarged_face(
                lambda side: _video_frame(source, best_time, side), result, frame.width
            )
            return Preview(_encode(_boxed(frame, result, threshold)), None, _encoded(face))
        im = open_for_thumbnail(source, max_side)
        # A photo stored turned (facts.photo.turned) is shown the right way up.
        turned = result.turned
        face = _enlarged_face(
            lambda side: open_for_thumbnail(source, side), result, im.width, turned in (90, 270)
        )
        phash = dhash(_upright(im, turned))  # of the photo as shown, before boxes are drawn
        return Preview(
            _encode(_upright(_boxed(im, result, threshold), turned)),
            phash,
            _encoded(None if face is None else _upright(face, turned)),
        )
    except FileError:
        return Preview(None, None)
    except Exception:  # a preview is never worth failing a report for
        return Preview(None, None)


def perceptual_hash(path: str) -> str | None:
    """A 64-bit difference hash (16 hex digits) of the upright image, None for videos and files
    that cannot be decoded. Copies, resized and re-encoded versions differ in a few bits."""
    try:
        return dhash(open_for_thumbnail(_source(path), 64))
    except Exception:  # FileError, or a decoder problem: no hash, no grouping
        return None


def dhash(im: Image.Image) -> str:
    """The difference hash of ``im``: one bit per horizontally adjacent pair of 9x8 grey cells."""
    grey = im.convert("L").resize((_HASH_SIZE + 1, _HASH_SIZE), Image.Resampling.BOX)
    px = grey.tobytes()
    row = _HASH_SIZE + 1
    bits = 0
    for y in range(_HASH_SIZE):
        for x in range(_HASH_SIZE):
            bits = (bits << 1) | (px[y * row + x] > px[y * row + x + 1])
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hashes from ``dhash``."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _source(path: str) -> str | bytes:
    """A plain file is decoded from its path; an archive member from its bytes."""
    _, member = split_path(path)
    return path if member is None else read_bytes(path)


def _boxed(im: Image.Image, result: FileResult, threshold: float | None) -> Image.Image:
    """``im`` with the matching face(s) outlined, boxes scaled from the original upright size."""
    if not result.width or result.score is None:
        return im
    scale = im.width / result.width
    draw = ImageDraw.Draw(im)
    line = max(2, round(max(im.size) / 160))
    for face in result.faces:
        best = face.similarity == result.score
        close = threshold is not None and face.similarity is not None
        if not best and not (close and face.similarity >= threshold):  # type: ignore[operator]
            continue
        x1, y1, x2, y2 = (v * scale for v in face.box)
        pad = line  # keep the outline off the face itself
        draw.rectangle(
            (x1 - pad, y1 - pad, x2 + pad, y2 + pad),
            outline=BOX_COLOUR if best else OTHER_COLOUR,
            width=line if best else max(1, line // 2),
        )
    return im


def _upright(im: Image.Image, turned: int) -> Image.Image:
    return im.rotate(-turned, expand=True) if turned else im


def _encoded(im: Image.Image | None) -> bytes | None:
    return None if im is None else _encode(im)


def _enlarged_face(
    load: Callable[[int], Image.Image | None],
    result: FileResult,
    thumb_width: int,
    sideways: bool = False,
) -> Image.Image | None:
    """The best face with a margin, about ``FACE_SIDE`` px, when it is under ``SMALL_IN_THUMB``
    px tall in the thumbnail (a 45 px face in a 12 MP photo is 4 px there: nobody can check
    it by eye; ``sideways``: the photo is shown turned a quarter, its faces' widths standing as
    their heights). ``load(long_side)`` gives the photo, or a video's best frame, at the size
    that shows it so (never above its own)."""
    best = result.best_face
    if best is None or not result.width or not result.height:
        return None
    x1, y1, x2, y2 = best.box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * _FACE_MARGIN)
    shown_height = (x2 - x1) if sideways else (y2 - y1)  # as the thumbnail stands it up
    if side <= 0 or shown_height * thumb_width / result.width >= SMALL_IN_THUMB:
        return None
    long_side = max(result.width, result.height)
    try:
        im = load(min(long_side, round(long_side * FACE_SIDE / side) + 1))
    except Exception:  # FileError, a decoder's: the thumbnail is shown without it
        return None
    if im is None:
        return None
    scale = im.width / result.width
    cx, cy, half = (x1 + x2) / 2 * scale, (y1 + y2) / 2 * scale, side * scale / 2
    crop = im.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    if max(crop.size) > FACE_SIDE:
        crop.thumbnail((FACE_SIDE, FACE_SIDE), Image.Resampling.LANCZOS)
    return crop


def _encode(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return buf.getvalue()


def _placeholder(max_side: int) -> Image.Image:
    """A dark frame with a play symbol, for a video whose frame cannot be shown."""
    w, h = max_side, max_side * 9 // 16
    im = Image.new("RGB", (w, h), (48, 48, 56))
    draw = ImageDraw.Draw(im)
    r = h // 5
    cx, cy = w // 2, h // 2
    draw.polygon([(cx - r // 2, cy - r), (cx - r // 2, cy + r), (cx + r, cy)], fill=(220, 220, 220))
    return im


def _video_frame(source: str | bytes, best_time: float | None, max_side: int) -> Image.Image | None:
    """The frame at ``best_time``, upright, long side at most ``max_side``; None without video
    support."""
    try:
        from .video import frame_at
    except ImportError:
        return None
    frame = frame_at(source, float(best_time or 0.0), max_side)
    rgb = Image.fromarray(frame.pixels[:, :, ::-1].copy())
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb
