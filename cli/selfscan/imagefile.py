"""Open one image, a file or an archive member's bytes, without decoding a pixel: the file
checks, the size limit, the optional HEIF/AVIF openers, and the EXIF orientation.

``images`` decodes what is opened here; ``facts`` and ``video`` need only this side. Every
failure becomes a ``FileError`` with a reason a person can read. HEIC/HEIF needs the optional
pillow-heif package, registered on the first HEIF file.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from .errors import FileError, scarce, short_reason
from .names import AVIF_BRANDS, HEIF_BRANDS, brands, magic_kind, unidentified_reason

# Larger images are refused before any pixel is decoded (a decompression bomb costs nothing but
# its header). 250 MP is more than any phone or consumer camera produces.
MAX_PIXELS = 250_000_000
# Nor a side longer than a JPEG's can be: the detector's work grows with the longer side, so a
# header of a few bytes (a PNG 1 px wide and 200,000,000 tall) held a worker for ten minutes.
MAX_SIDE = 65_535
Image.MAX_IMAGE_PIXELS = None  # our own limit above replaces Pillow's warning/error pair
# Pillow refuses a whole PNG whose one text chunk (a comment, an XMP packet) inflates past 1 MB;
# the photo is still a photo. Its total for all text chunks (64 MB) still holds off a text bomb.
PngImagePlugin.MAX_TEXT_CHUNK = PngImagePlugin.MAX_TEXT_MEMORY


def size_problem(width: int, height: int, what: str = "image is") -> str | None:
    """Why pixels of ``width`` x ``height`` are not decoded (``what``: ``image is``, ``video
    frames are``), or None: refused from the header, before any pixel is."""
    if width <= 0 or height <= 0:
        return f"invalid image size {width}x{height}"
    if width * height > MAX_PIXELS:
        return (
            f"{what} {width}x{height} ({width * height / 1e6:.0f} MP), over the "
            f"{MAX_PIXELS / 1e6:.0f} MP safety limit (possible decompression bomb)"
        )
    if max(width, height) > MAX_SIDE:
        return (
            f"{what} {width}x{height}, a side over the {MAX_SIDE:,} px safety limit (no camera "
            "makes one; possible decompression bomb)"
        )
    return None


_HEIF_LOCK = threading.Lock()
_heif_state: list[bool] = []  # [True] once pillow-heif is registered, [False] when missing

Source = str | Path | bytes


def _enable_heif() -> bool:
    with _HEIF_LOCK:
        if not _heif_state:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state.append(True)
            except ImportError:
                _heif_state.append(False)
        return _heif_state[0]


def _prepare_plugins(head: bytes) -> None:
    """Register the optional opener ``head`` needs, or explain what is missing."""
    found = brands(head)
    if found & AVIF_BRANDS:
        from PIL import features

        if not features.check("avif"):
            raise FileError(
                "AVIF support needs Pillow >= 11.3 built with libavif: pip install -U Pillow",
                transient=True,
            )
    elif found & HEIF_BRANDS and not _enable_heif():
        raise FileError(
            "HEIC/HEIF support needs pillow-heif: pip install 'selfscan[heif]'", transient=True
        )


def open_image(source: Source) -> tuple[Image.Image, BinaryIO, os.stat_result | None]:
    """The opened (not decoded) image, its file, and the file's identity for a change check."""
    ident = None
    if isinstance(source, bytes):
        fh: BinaryIO = io.BytesIO(source)
        head = source[:64]
    else:
        fh, ident = open_file(source)
        head = fh.read(64)
        fh.seek(0)
    try:
        _prepare_plugins(head)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(fh)
    except FileError:
        fh.close()
        raise
    except UnidentifiedImageError:
        fh.close()
        raise FileError(unidentified_reason(head)) from None
    except Exception as exc:
        fh.close()
        if (short := scarce(exc)) is not None:
            raise short from None
        kind = magic_kind(head)
        what = f"damaged or truncated {kind} file" if kind else "cannot read the image header"
        raise FileError(f"{what}: {short_reason(exc)}") from None
    return im, fh, ident


@contextmanager
def opened(source: Source) -> Iterator[tuple[Image.Image, int]]:
    """The image with only its header parsed (no pixel decoded) and the file's size in bytes,
    closed on exit.

    Raises:
        FileError: when the file cannot be opened or is not a readable image.
    """
    im, fh, ident = open_image(source)
    size = len(source) if isinstance(source, bytes) else ident.st_size if ident else 0
    with fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield im, size


def open_file(source: str | Path) -> tuple[BinaryIO, os.stat_result]:
    """A regular, non-empty file opened for binary reading, and its identity.

    Raises:
        FileError: for a missing file, a dangling symlink, a folder, a pipe or device, an
            empty file, or no permission to read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(source, flags)  # non-blocking: opening a named pipe must not hang
    except PermissionError:
        raise FileError("permission denied", transient=True) from None
    except FileNotFoundError:
        if os.path.islink(source):
            raise FileError("dangling symlink (its target does not exist)") from None
        raise FileError("file disappeared before it could be read", transient=True) from None
    except IsADirectoryError:
        raise FileError("is a directory") from None
    except OSError as exc:
        raise FileError(f"cannot open: {exc.strerror or exc}", transient=True) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileError("is a directory")
        raise FileError("not a regular file (a named pipe, device or socket)")
    if st.st_size == 0:
        os.close(fd)
        raise FileError("empty file (0 bytes)")
    return os.fdopen(fd, "rb"), st


def changed_reason(path: str | Path, before: os.stat_result) -> str | None:
    """Why the file at ``path`` is no longer the one that was opened, or None."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return "file disappeared while it was being read"
    except OSError:
        return None
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
        return "file was replaced while it was being read"
    if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return "file changed while it was being read"
    return None


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
