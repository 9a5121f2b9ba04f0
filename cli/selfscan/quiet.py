"""What C libraries write straight to file descriptor 2, kept off the terminal.

libjpeg and libtiff print warnings about damaged data themselves (``Corrupt JPEG data: ...``,
``Using code not yet in table``), below Python, where no ``warnings`` filter reaches. In a worker
process, where nothing else writes to the terminal, decoding runs with descriptor 2 pointed at a
pipe: the messages never land in the middle of the progress display, and the fast JPEG path
learns that libjpeg had something to say. The main process is never redirected (its progress
display writes to the same descriptor from another thread).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_enabled: list[bool] = []  # [True] once this process captures (see ``enable``)
_pipe: list[int] = []  # read end, write end


def enable() -> bool:
    """Capture from now on in this process: call it in worker processes only. False (and no
    capture) where a non-blocking pipe cannot be had (Windows before Python 3.12)."""
    if not _pipe:
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return False
        try:
            # Neither end ever blocks: a longer message is cut, not waited on.
            os.set_blocking(read_end, False)
            os.set_blocking(write_end, False)
        except (OSError, AttributeError):
            os.close(read_end)
            os.close(write_end)
            return False
        _pipe.extend((read_end, write_end))
    _enabled[:] = [True]
    return True


def enabled() -> bool:
    """Whether this process captures (``captured`` may still yield None to a second thread)."""
    return bool(_enabled)


@contextmanager
def captured() -> Iterator[list[bool] | None]:
    """Run the block with descriptor 2 in the pipe. Yields a list that holds True afterwards
    if anything was written, or None when nothing is captured (capture not enabled in this
    process, or another thread is inside)."""
    if not enabled() or not _LOCK.acquire(blocking=False):
        yield None
        return
    said: list[bool] = []
    try:
        read_end, write_end = _pipe
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(write_end, 2)
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            said.append(_drain(read_end))
    finally:
        _LOCK.release()


def _drain(read_end: int) -> bool:
    wrote = False
    try:
        while os.read(read_end, 65536):
            wrote = True
    except BlockingIOError:
        pass
    return wrote
