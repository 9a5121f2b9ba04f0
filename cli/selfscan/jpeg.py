"""JPEG straight to BGR pixels: libjpeg-turbo through OpenCV, DCT-scaled while decoding.

The cheap path of ``images.decode`` for clean JPEGs, the bulk of any photo library. Compared
with Pillow's draft decoding it skips the copy out of Pillow's image memory and the RGB to BGR
swap (measured on 12 MP photos: 129 against 100 ms at half size, 254 against 166 ms at full
size). The pixels are the same: both libraries drive the same libjpeg-turbo scaled decoding.

It only ever answers for data that decodes without a word from libjpeg: anything it would warn
about (damaged or truncated data), any mode but RGB and grey, or any doubt, gives None and
``images.decode`` takes its stricter Pillow path, which gives the reason of the failure.
"""

from __future__ import annotations

import os
import sys
import threading

import cv2
import numpy as np
from numpy.typing import NDArray

# OpenCV's reduced-size flags by DCT scale denominator.
_READ_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_LOCK = threading.Lock()
_pipe: list[int] = []  # this process's pipe for libjpeg's messages: read end, write end


def scale_for(width: int, height: int, max_side: int | None) -> int:
    """The DCT scale denominator Pillow's draft mode picks for ``max_side``: the largest that
    keeps both sides at least the requested ones (1 when no reduction is asked for)."""
    if not max_side or max(width, height) <= 2 * max_side:
        return 1
    ratio = max_side / max(width, height)
    want_w, want_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    for scale in (8, 4, 2):
        if -(-width // scale) >= want_w and -(-height // scale) >= want_h:
            return scale
    return 1


def decode_jpeg(data: bytes, width: int, height: int, scale: int) -> NDArray[np.uint8] | None:
    """The stored (not yet upright) BGR pixels of JPEG ``data``, whose header says
    ``width`` x ``height``, reduced by ``scale`` (1, 2, 4 or 8); None when this path does not
    answer (see the module docstring)."""
    if scale not in _READ_FLAGS or not data.endswith(b"\xff\xd9"):
        return None  # no end-of-image marker: truncated, or data appended (motion photos)
    flags = _READ_FLAGS[scale] | cv2.IMREAD_IGNORE_ORIENTATION
    buf = np.frombuffer(data, np.uint8)
    if not _LOCK.acquire(blocking=False):
        return None  # another thread is decoding here; its stderr capture is in place
    try:
        pixels, said = _quietly(buf, flags)
    except OSError:  # no pipe to be had, or one that cannot be made non-blocking
        return None
    finally:
        _LOCK.release()
    if said or pixels is None or pixels.ndim != 3:
        return None
    if pixels.shape[:2] != (-(-height // scale), -(-width // scale)):
        return None
    return pixels


def _quietly(buf: NDArray[np.uint8], flags: int) -> tuple[NDArray[np.uint8] | None, bool]:
    """Decode with file descriptor 2 pointed at a pipe: libjpeg writes its warnings there
    (at most its first, by design), where they only tell this module to step aside instead of
    reaching the terminal. Both ends never block: a longer message is cut, not waited on."""
    if not _pipe:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        _pipe.extend((read_end, write_end))
    read_end, write_end = _pipe
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(write_end, 2)
        try:
            pixels = cv2.imdecode(buf, flags)
        except cv2.error:
            pixels = None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    said = False
    try:
        while os.read(read_end, 65536):
            said = True
    except BlockingIOError:
        pass
    return pixels, said


# Stored pixels to upright ones, by EXIF orientation (the same turns as images._ORIENT_OPS).
def upright(pixels: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """``pixels`` as stored, turned and flipped upright for EXIF ``orientation`` (1..8)."""
    if orientation == 2:
        return cv2.flip(pixels, 1)
    if orientation == 3:
        return cv2.rotate(pixels, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(pixels, 0)
    if orientation == 5:
        return cv2.transpose(pixels)
    if orientation == 6:
        return cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(pixels), -1)
    if orientation == 8:
        return cv2.rotate(pixels, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return pixels
