"""A Mac Photos library (``Photos Library.photoslibrary``): each photo read once.

Photos keeps a photo's original under ``originals/``, named by the photo's UUID
(``originals/4/4A1B…-….heic``; a Live Photo's video is ``…_3.mov`` beside it). Under
``resources/`` it keeps copies it made of the photo, named by the same UUID: previews and
thumbnails (``resources/derivatives/``, ``resources/derivatives/masters/``, ``4A1B…_1_105_c.jpeg``)
and edited versions (``resources/renders/``). Reading them all would analyse each photo two to
four times and report it as many. With iCloud's "Optimise Mac Storage", though, the original may
not be on the Mac, and a copy is then the only picture of the photo there. So a copy under
``resources/`` is not read when its photo's original is; otherwise only the largest image (and
the largest video) of each photo is read.

Libraries from before macOS 10.15 (``Masters/``, named as the camera named the files) are
read whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

LIBRARY_SUFFIX = ".photoslibrary"
_UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", re.IGNORECASE)
_COPIES = (["derivatives"], ["renders"])  # the folders of resources/ holding copies of photos


def _place(path: str) -> tuple[str, bool, str] | None:
    """``(library, is_original, uuid)`` for a photo's file in a Photos library (its original,
    or a copy Photos made of it); None for any other file."""
    parts = path.replace(os.altsep, os.sep).split(os.sep) if os.altsep else path.split(os.sep)
    at = next(
        (i for i in range(len(parts) - 2, -1, -1) if parts[i].lower().endswith(LIBRARY_SUFFIX)),
        None,
    )
    if at is None:
        return None
    inside = [p.lower() for p in parts[at + 1 : -1]]
    original = inside[:1] == ["originals"]
    if not original and not (inside[:1] == ["resources"] and inside[1:2] in _COPIES):
        return None
    found = _UUID.match(parts[-1])
    if found is None:
        return None
    return os.sep.join(parts[: at + 1]), original, found.group().upper()


def copies_not_read(files: Iterable[tuple[str, int, str]]) -> set[str]:
    """Of ``files`` (path, size in bytes, kind: ``image`` or ``video``), the paths of the copies
    Photos made of photos whose original, or a larger copy of the same kind, is among them."""
    originals: set[tuple[str, str]] = set()
    copies: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for path, size, kind in files:
        place = _place(path)
        if place is None:
            continue
        library, original, uuid = place
        if original:
            originals.add((library, uuid))
        else:
            copies.setdefault((library, uuid, kind), []).append((size, path))
    skipped: set[str] = set()
    for (library, uuid, _), found in copies.items():
        found.sort(key=lambda sp: (-sp[0], sp[1]))  # the largest first, then by name
        first = 0 if (library, uuid) in originals else 1
        skipped.update(path for _, path in found[first:])
    return skipped


def might_hold_library(path: str) -> bool:
    """Whether ``path`` may be in a Photos library: a cheap test before ``copies_not_read``."""
    return LIBRARY_SUFFIX in path.lower()
