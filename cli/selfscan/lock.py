"""One scan at a time per data dir: the index has a single writer; and one change to the
profiles at a time (:func:`profiles_held`).

A second ``selfscan find`` on the same data dir would wait on the first one's writes and fail
part-way through; it is refused at the start instead, naming the process that holds the lock,
and ``forget`` will not delete an index a scan is writing. The lock is an advisory lock on
``<data dir>/index.lock`` (which holds the holder's pid), released by the operating system when
the holder exits, ``kill -9`` included.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .config import FILE_MODE, ensure_private_dir
from .errors import BusyError, StoreError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def lock_path(index: Path) -> Path:
    """The lock file beside the index file ``index``."""
    return index.with_name("index.lock")


def acquire(
    index: Path, advice: str = "run this scan when it has finished, or add --no-store"
) -> int:
    """Take the lock of the index ``index`` without waiting; returns the descriptor that holds
    it (give it to :func:`release`). Raises ``BusyError`` when another process holds it."""
    path = lock_path(index)
    try:
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        other = ", or add --no-store" if "--no-store" in advice else ""  # (a scan's way out)
        raise StoreError(
            f"cannot write to selfscan's data dir {path.parent} ({exc.strerror or exc}): check "
            f"that it is writable{other}"
        ) from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        raise BusyError(f"another selfscan{holder} is scanning with {index}; {advice}") from None
    try:  # who holds it, for another's message; the lock itself is the flock
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError:  # a full disk: forget must still work there, and a scan says it is full
        pass
    return fd


def release(fd: int) -> None:
    """Give the lock back."""
    with contextlib.suppress(OSError):
        os.close(fd)


@contextlib.contextmanager
def held(index: Path, advice: str) -> Iterator[None]:
    """The lock of the index ``index`` for the block (see :func:`acquire`)."""
    fd = acquire(index, advice)
    try:
        yield
    finally:
        release(fd)


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        pid = int(os.read(fd, 32).decode().strip())
        return f" (pid {pid})"
    return ""


@contextlib.contextmanager
def profiles_held(home: Path) -> Iterator[None]:
    """Changes to profiles one at a time, for the block: ``enroll`` reads a profile, adds to it
    and writes it back, and a ``forget`` between its read and its write was undone by it (two
    enrolls at once kept one's photos). A waiting lock on the data dir itself (nothing is
    created for it); where the system has none (Windows), or the data dir does not exist yet,
    the block runs unlocked."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(home, os.O_RDONLY)
    except OSError:  # not made yet: nothing stored to race over
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
