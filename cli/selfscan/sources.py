"""Walk folders (and, later, archives), yielding ``Item``s to scan.

Hidden files and folders and files that are not images are skipped quietly; symlinked folders are
followed once (a loop is detected by device and inode and not entered again).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .images import IMAGE_EXTENSIONS
from .types import Item


def kind_of(name: str) -> str | None:
    """``image`` for a supported image extension, else None."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    return None


def iter_items(paths: list[Path]) -> Iterator[Item]:
    """Every scannable item under ``paths`` (files or folders), in a stable order."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in paths:
        yield from _walk(Path(os.path.abspath(root)), seen_dirs, explicit=True)


def _walk(path: Path, seen_dirs: set[tuple[int, int]], explicit: bool = False) -> Iterator[Item]:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            yield Item(str(path), 0, 0, error="dangling symlink (its target does not exist)")
        elif explicit:
            yield Item(str(path), 0, 0, error="file disappeared before it could be read")
        return
    except OSError as exc:
        if explicit or kind_of(path.name):
            yield Item(str(path), 0, 0, error=f"cannot stat: {exc.strerror or exc}")
        return
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            yield Item(str(path), 0, 0, error=f"cannot list folder: {exc.strerror or exc}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            yield from _walk(Path(entry.path), seen_dirs)
        return
    if not stat.S_ISREG(st.st_mode):
        return
    kind = kind_of(path.name)
    if kind is None and not explicit:
        return
    yield Item(str(path), st.st_size, st.st_mtime_ns, kind="image", fs_path=str(path))
