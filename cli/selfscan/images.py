"""Open and decode one image: EXIF orientation, reduced-size decoding, limits. No model here.

Every failure becomes a ``FileError`` with a reason a person can read; the scan records it and
goes on.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import FileError
from .types import DecodedImage

# Larger images are refused before any pixel is decoded (a decompression bomb costs nothing but
# its header). 250 MP is more than any phone or consumer camera produces.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = None  # our own limit above replaces Pillow's warning/error pair

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
)

_ORIENT_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

Source = str | Path | bytes


def _open(source: Source) -> tuple[Image.Image, BinaryIO]:
    try:
        fh: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    except PermissionError:
        raise FileError("permission denied") from None
    except FileNotFoundError:
        raise FileError("file disappeared before it could be read") from None
    except IsADirectoryError:
        raise FileError("is a directory") from None
    except OSError as exc:
        raise FileError(f"cannot open: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(fh)
    except UnidentifiedImageError:
        fh.close()
        raise FileError(_unidentified_reason(source)) from None
    except Exception as exc:
        fh.close()
        raise FileError(f"cannot read image header: {_short(exc)}") from None
    return im, fh


def _unidentified_reason(source: Source) -> str:
    head = source[:64] if isinstance(source, bytes) else _head(Path(source))
    if not head:
        return "empty file (0 bytes)"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "not an image: the file is HTML/XML text"
    return "not a supported image (unrecognised or corrupt data)"


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(64)
    except OSError:
        return b""


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def orientation_of(im: Image.Image) -> int:
    """The EXIF orientation tag (1..8), 1 when absent or invalid."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """Size after applying an EXIF orientation (5..8 swap the axes)."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


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
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        span = float(arr.max() - arr.min()) or 1.0
        arr8 = ((arr - arr.min()) * (255.0 / span)).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    return im.convert("RGB")


def decode(source: Source, max_side: int | None = None) -> DecodedImage:
    """Decode ``source`` upright, as BGR pixels whose long side is at least ``max_side`` (when
    the image is that large) and at most about twice that: JPEGs use Pillow's draft mode (DCT
    scaling, much cheaper than a full decode), other formats a box reduction.

    Raises ``FileError`` with a reason for anything that cannot be decoded.
    """
    im, fh = _open(source)
    try:
        with fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _decode_open(im, max_side)
    except FileError:
        raise
    except MemoryError:
        raise FileError("out of memory while decoding") from None
    except Image.DecompressionBombError as exc:
        raise FileError(f"decompression bomb: {_short(exc)}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        text = _short(exc)
        if "truncated" in text or isinstance(exc, EOFError):
            raise FileError(f"truncated or damaged image data: {text}") from None
        raise FileError(f"corrupt image data: {text}") from None


def _decode_open(im: Image.Image, max_side: int | None) -> DecodedImage:
    fmt = im.format or ""
    width, height = im.size
    if width <= 0 or height <= 0:
        raise FileError(f"invalid image size {width}x{height}")
    if width * height > MAX_PIXELS:
        raise FileError(
            f"image is {width}x{height} ({width * height / 1e6:.0f} MP), over the "
            f"{MAX_PIXELS / 1e6:.0f} MP safety limit (possible decompression bomb)"
        )
    orientation = orientation_of(im)
    if max_side and fmt == "JPEG" and max(width, height) > 2 * max_side:
        ratio = max_side / max(width, height)
        im.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
    im.load()
    if max_side and max(im.size) >= 2 * max_side:
        factor = max(1, int(max(im.size) // max_side))
        if factor > 1:
            im = im.reduce(factor)
    rgb = _to_rgb(im)
    op = _ORIENT_OPS.get(orientation)
    if op is not None:
        rgb = rgb.transpose(op)
    up_w, up_h = upright_size(width, height, orientation)
    pixels = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    return DecodedImage(
        pixels=pixels,
        scale=up_w / pixels.shape[1],
        width=up_w,
        height=up_h,
        orientation=orientation,
        format=fmt,
    )


def exif_transpose(im: Image.Image) -> Image.Image:
    """The image upright, for thumbnails."""
    return ImageOps.exif_transpose(im)
