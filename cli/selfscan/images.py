"""Decode one image to upright pixels: reduced-size decoding, every mode to RGB, thumbnails.
No model here.

Opening (file checks, limits, HEIF/AVIF openers, orientation) is ``imagefile``; clean JPEGs take
the faster ``jpeg`` path. Every failure becomes a ``FileError`` with a reason a person can read;
the scan records it and goes on.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
from PIL import Image, ImageOps

from . import quiet
from .errors import FileError, scarce, short_reason
from .geometry import stored_box
from .imagefile import (
    Source,
    changed_reason,
    open_file,
    open_image,
    orientation_of,
    size_problem,
    upright_size,
)
from .jpeg import decode_jpeg, decode_jpeg_window, scale_for, upright
from .types import DecodedImage

_ORIENT_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Modes Image.reduce accepts; others are converted to RGB first.
_REDUCIBLE = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"})
# Formats whose decoder can skip work for a smaller result (JPEG DCT scaling, HEIF thumbnails).
_DRAFT_FORMATS = frozenset({"JPEG", "MPO", "HEIF"})


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for any mode: transparency over white, 16-bit scaled (not clipped), CMYK converted."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr8 = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if mode == "F":
        arr = np.nan_to_num(np.asarray(im, dtype=np.float64))
        span = float(arr.max() - arr.min()) or 1.0
        arr8 = ((arr - arr.min()) * (255.0 / span)).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    return im.convert("RGB")


def _load(
    source: Source, max_side: int | None, fraction: float = 0.0
) -> tuple[Image.Image, int, int, int, str, Callable[[], Image.Image] | None]:
    """Upright RGB pixels (reduced towards ``max_side``), the upright full size, the
    orientation, the format, and where the pixels were decoded whole and then reduced, what
    makes the upright full-resolution RGB image from them (else None). Every failure is a
    ``FileError``."""
    im, fh, ident = open_image(source)
    result = None
    transient = False
    try:
        with fh, warnings.catch_warnings(), quiet.captured():
            warnings.simplefilter("ignore")
            result = _upright_rgb(im, working_side(max_side, fraction, *im.size))
        reason = None
    except FileError as exc:
        reason, transient = exc.reason, exc.transient
    except MemoryError:
        reason, transient = "out of memory while decoding", True
    except Image.DecompressionBombError as exc:
        reason = f"decompression bomb: {short_reason(exc)}"
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        text = short_reason(exc)
        if (short := scarce(exc)) is not None:
            reason, transient = short.reason, True
        elif "truncated" in text or isinstance(exc, EOFError):
            # Pillow's "(9 bytes not processed)" counts its buffer, not what the file lacks.
            text = re.sub(r" \(\d+ bytes not processed\)", "", text)
            reason = f"truncated or damaged image data: {text}"
        else:
            reason = f"corrupt image data: {text}"
    except Exception as exc:
        reason = f"cannot decode image: {type(exc).__name__}: {short_reason(exc)}"
    if ident is not None and not isinstance(source, bytes):
        # A file changed under us may decode into a mix of old and new bytes: never trust it.
        changed = changed_reason(source, ident)
        if changed is not None:
            reason, transient = changed, True
    if reason is not None or result is None:
        raise FileError(reason or "cannot decode image", transient=transient)
    return result


def _upright_rgb(
    im: Image.Image, max_side: int | None
) -> tuple[Image.Image, int, int, int, str, Callable[[], Image.Image] | None]:
    fmt = im.format or ""
    width, height = im.size
    problem = size_problem(width, height)
    if problem is not None:
        raise FileError(problem)
    orientation = orientation_of(im)
    # HEIF decoders rotate while decoding and reset the tag: report the original, apply nothing.
    reported = im.info.get("original_orientation") or orientation
    if reported not in _ORIENT_OPS:
        reported = 1
    if max_side and fmt in _DRAFT_FORMATS and max(width, height) > 2 * max_side:
        ratio = max_side / max(width, height)
        im.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
    im.load()
    if orientation != 1 and orientation_of(im) == 1:
        # The decoder turned it and dropped the tag (Pillow's TIFF plugin: its size is upright
        # from the start): turning it again would put the photo on its side.
        orientation = 1
    full = None
    if max_side and max(im.size) >= 2 * max_side:
        # Halvings, as a JPEG's DCT scaling gives: the same working size whatever the format
        # (a 12 MP HEIC or PNG was reduced by 3, to 1344 px, where a JPEG gets 2016).
        factor = 1 << int(math.log2(max(im.size) / max_side))
        if factor > 1:
            if im.mode not in _REDUCIBLE:  # palette, 1-bit, 16-bit: Image.reduce refuses them
                im = _to_rgb(im)
            full, im = im, im.reduce(factor)
    up_w, up_h = upright_size(width, height, orientation)
    whole = None if full is None else partial(_oriented_rgb, full, orientation)
    return _oriented_rgb(im, orientation), up_w, up_h, reported, fmt, whole


def _oriented_rgb(im: Image.Image, orientation: int) -> Image.Image:
    rgb = _to_rgb(im)
    op = _ORIENT_OPS.get(orientation)
    return rgb.transpose(op) if op is not None else rgb


def decode(
    source: Source, max_side: int | None = None, fraction: float = 0.0, keep_whole: bool = False
) -> DecodedImage:
    """Decode ``source`` upright, as BGR pixels whose long side is at least ``max_side`` (when
    the image is that large) and at most about twice that: JPEGs use Pillow's draft mode (DCT
    scaling, much cheaper than a full decode), other formats a box reduction by halvings.

    Args:
        source: a file path, or the file's bytes (an archive member).
        max_side: the long side the caller will work at; None decodes at full size.
        fraction: with ``max_side``, also at least this fraction of the image's own long side
            (0.5: never smaller than half size, however large the photo).
        keep_whole: where the image is decoded whole and then reduced (formats without reduced
            decoding), keep the whole for ``decode_window`` (``DecodedImage.whole``).

    Raises:
        FileError: with a reason for anything that cannot be decoded.
    """
    fast = _fast_jpeg(source, max_side, fraction)
    if fast is not None:
        return fast
    rgb, up_w, up_h, orientation, fmt, full_rgb = _load(source, max_side, fraction)
    # Kept for a small face's window: a format without reduced decoding is not decoded again.
    whole = None
    if keep_whole and full_rgb is not None:
        whole = partial(_whole, full_rgb, up_w, up_h, orientation, fmt)
    return _decoded(_bgr(rgb), up_w, up_h, orientation, fmt, whole)


def _bgr(rgb: Image.Image) -> np.ndarray:
    # Pillow has no BGR mode; OpenCV swaps the channels several times faster than numpy.
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _whole(
    full_rgb: Callable[[], Image.Image], up_w: int, up_h: int, orientation: int, fmt: str
) -> DecodedImage:
    """The full-resolution decode, made from pixels decoded already: as ``decode`` gives."""
    return _decoded(_bgr(full_rgb()), up_w, up_h, orientation, fmt)


def _decoded(
    pixels: np.ndarray,
    up_w: int,
    up_h: int,
    orientation: int,
    fmt: str,
    whole: Callable[[], DecodedImage] | None = None,
) -> DecodedImage:
    return DecodedImage(pixels, up_w / pixels.shape[1], up_w, up_h, orientation, fmt, whole=whole)


def working_side(max_side: int | None, fraction: float, width: int, height: int) -> int | None:
    """The long side to decode at least: ``max_side``, or ``fraction`` of the image's own."""
    if not max_side:
        return None
    # One pixel less, so that exactly half size (a JPEG's cheap 1/2 DCT scale) qualifies.
    return max(max_side, int(fraction * max(width, height)) - 1)


def _fast_jpeg(source: Source, max_side: int | None, fraction: float = 0.0) -> DecodedImage | None:
    """``decode`` through ``jpeg.decode_jpeg`` for a clean RGB or grey JPEG; None for anything
    else (``decode`` then takes the Pillow path, which explains failures).

    Raises:
        FileError: when the file changed while it was being read.
    """
    if not quiet.enabled():  # libjpeg could not be heard: not worth reading the file for
        return None
    jpeg = _read_jpeg(source)
    if jpeg is None:
        return None
    data, ident, width, height, orientation = jpeg
    max_side = working_side(max_side, fraction, width, height)
    scale = scale_for(width, height, max_side)
    pixels = decode_jpeg(data, width, height, scale)
    if pixels is None or (max_side and max(pixels.shape[:2]) >= 2 * max_side):
        return None
    reason = changed_reason(source, ident) if ident is not None else None  # type: ignore[arg-type]
    if reason is not None:
        raise FileError(reason, transient=True)
    up_w, up_h = upright_size(width, height, orientation)
    return _decoded(upright(pixels, orientation), up_w, up_h, orientation, "JPEG")


def _read_jpeg(source: Source) -> tuple[bytes, os.stat_result | None, int, int, int] | None:
    """A clean RGB or grey JPEG's bytes, its file's identity (None for bytes), its stored size
    and EXIF orientation; None for anything else (``decode``'s Pillow path says what)."""
    try:
        if isinstance(source, bytes):
            data, ident = source, None
        else:
            fh, ident = open_file(source)
            with fh:
                if fh.read(3) != b"\xff\xd8\xff":
                    return None
                fh.seek(0)
                data = fh.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            if im.format != "JPEG" or im.mode not in ("RGB", "L"):
                return None
            width, height = im.size
            if size_problem(width, height) is not None:
                return None
            return data, ident, width, height, orientation_of(im)
    except Exception:  # FileError, Pillow's many errors
        return None


def decode_window(
    source: Source, box: tuple[float, float, float, float], image: DecodedImage | None = None
) -> DecodedImage:
    """The full-resolution pixels of ``box`` (original upright coordinates, clipped to the
    image), to embed faces from. A JPEG decodes only the rows down to the window's (see
    ``jpeg.decode_jpeg_window``); anything else, or a window near a JPEG's last rows, is decoded
    whole, and the result is then the whole image. Where ``image``, the reduced decode of the
    same ``source``, was made from the whole image decoded (formats without reduced decoding),
    the whole image is made from those pixels instead of decoding it again.

    Raises:
        FileError: with a reason for anything that cannot be decoded.
    """
    if image is not None and image.whole is not None:
        return image.whole()
    window = _jpeg_window(source, box)
    return window if window is not None else decode(source)


def _jpeg_window(source: Source, box: tuple[float, float, float, float]) -> DecodedImage | None:
    jpeg = _read_jpeg(source)
    if jpeg is None:
        return None
    data, ident, width, height, orientation = jpeg
    up_w, up_h = upright_size(width, height, orientation)
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(up_w, math.ceil(box[2])), min(up_h, math.ceil(box[3]))
    if x0 >= x1 or y0 >= y1:
        return None
    sx0, sy0, sx1, sy1 = (int(v) for v in stored_box((x0, y0, x1, y1), up_w, up_h, orientation))
    pixels = decode_jpeg_window(data, (sx0, sy0, sx1, sy1))
    if pixels is None:
        return None
    if ident is not None and (reason := changed_reason(source, ident)) is not None:  # type: ignore[arg-type]
        raise FileError(reason, transient=True)
    pixels = np.ascontiguousarray(upright(pixels, orientation))
    return DecodedImage(pixels, 1.0, up_w, up_h, orientation, "JPEG", (float(x0), float(y0)))


def open_for_thumbnail(source: Source, max_side: int) -> Image.Image:
    """The image upright, in RGB, its long side at most ``max_side`` (draft-decoded where the
    format allows): for report thumbnails.

    Raises:
        FileError: with a reason for anything that cannot be decoded.
    """
    rgb = _load(source, max_side)[0]
    width, height = rgb.size
    if max(width, height) <= max_side:
        return rgb
    ratio = max_side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def exif_transpose(im: Image.Image) -> Image.Image:
    """The image upright, for thumbnails."""
    return ImageOps.exif_transpose(im)
