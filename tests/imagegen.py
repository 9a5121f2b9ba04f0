"""Derived test images, made at test time from the real sample photos."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

# Orientation o: an upright picture transformed by STORE_OPS[o] is what a camera stores with the
# EXIF tag o (written independently of selfscan's own table, as a test oracle).
STORE_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def save_with_orientation(src: Path, dest: Path, orientation: int) -> None:
    """Store ``src`` rotated/flipped so that EXIF ``orientation`` brings it back upright."""
    im = Image.open(src).convert("RGB")
    if orientation in STORE_OPS:
        im = im.transpose(STORE_OPS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(dest, "JPEG", quality=95, exif=exif.tobytes())


def stored_jpeg(upright: Image.Image, orientation: int, quality: int = 92, **save: object) -> bytes:
    """A JPEG of ``upright`` stored turned so that EXIF ``orientation`` brings it back upright."""
    op = STORE_OPS.get(orientation)
    stored = upright if op is None else upright.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=quality, exif=exif.tobytes(), **save)
    return buf.getvalue()


def rescaled(src: Path, dest: Path, factor: float) -> None:
    im = Image.open(src).convert("RGB")
    im.resize((round(im.width * factor), round(im.height * factor)), Image.LANCZOS).save(
        dest, quality=92
    )


def distinct_copy(src: Path, dest: Path, n: int) -> None:
    """``src`` with ``n`` bytes after the JPEG's end: the same picture in a file of its own
    content (identical copies in one scan are analysed once)."""
    dest.write_bytes(src.read_bytes() + b"\0" * n)


def recompressed(src: Path, dest: Path, quality: int) -> None:
    Image.open(src).convert("RGB").save(dest, "JPEG", quality=quality)


def grayscale(src: Path, dest: Path) -> None:
    Image.open(src).convert("L").save(dest, quality=92)


def rgba_png(src: Path, dest: Path) -> None:
    im = Image.open(src).convert("RGBA")
    alpha = Image.new("L", im.size, 255)
    alpha.paste(0, (0, 0, im.width // 8, im.height // 8))  # a transparent corner
    im.putalpha(alpha)
    im.save(dest, "PNG")


def pasted(
    src: Path,
    dest: Path,
    size: tuple[int, int] = (4032, 3024),
    at: tuple[int, int] = (2900, 1900),
    width: int | None = None,
    quality: int = 90,
) -> tuple[int, int, float]:
    """Paste ``src`` (optionally resized to ``width``) into a large frame; returns the offset and
    the scale applied, so a test can map a box from ``src`` into the frame."""
    im = Image.open(src).convert("RGB")
    scale = 1.0
    if width is not None:
        scale = width / im.width
        im = im.resize((width, round(im.height * scale)), Image.LANCZOS)
    frame = Image.new("RGB", size, (92, 110, 84))
    frame.paste(im, at)
    frame.save(dest, "JPEG", quality=quality)
    return at[0], at[1], scale


def jpeg_bytes(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def encode_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 10,
    rotation: int | None = None,
    gop: int | None = None,
    codec: str = "libx264",
    faststart: bool = False,
    tags: dict[str, str] | None = None,
) -> Path:
    """A video of ``frames`` (RGB arrays) at ``fps``, written with PyAV (imported here: only
    the tests that need it need it)."""
    import av

    if codec not in av.codecs_available:
        codec = "mpeg4"
    out = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    out.metadata["creation_time"] = "2021-03-04T05:06:07.000000Z"
    out.metadata.update(tags or {})
    stream = out.add_stream(codec, rate=fps)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "yuv420p"
    if gop:
        stream.gop_size = gop
    if rotation is not None:
        stream.set_display_rotation(rotation)
    for i, pixels in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame.pts = i
        frame.time_base = Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path
