"""Which results in a report are one photo: copies of it (the same file in two exports, a
resized or re-encoded copy) fold into one entry with all its locations, by perceptual hash.
"""

from __future__ import annotations

import re
from typing import Any

from .geometry import iou
from .types import FileResult

DUPLICATE_BITS = 6  # of 64: copies differ in a few bits, different photos in about half
SAME_PLACE = 0.5  # IoU of the best faces' relative boxes in two copies of one photo
_ASPECT_TOLERANCE = 0.03


def group_duplicates(entries: list[tuple[FileResult, str | None]]) -> list[list[FileResult]]:
    """Group results that are the same photo: nearly equal perceptual hashes (at most
    ``DUPLICATE_BITS`` of 64 differ), the same aspect ratio, and your face in the same place
    (the best faces' boxes, relative to the photo, overlapping by ``SAME_PLACE`` IoU or more:
    two shots of one scene hash alike, but a copy has you where the original does), and no two
    different capture times in a group's EXIF (a burst of shots a second apart), whichever
    photo leads it (a copy without EXIF may). A photo
    joins the first group whose first photo it copies, never through another copy, so
    near-duplicates do not chain a burst of shots into one. A result without a hash (a video)
    joins an earlier one of identical content (the same fingerprint), or, when it is a Live
    Photo's video, the group of its still (the same name in the same folder), or is a group of
    its own; an iPhone's edit (``IMG_E0001.HEIC`` beside ``IMG_0001.HEIC``) joins the group of
    the photo it edits. Groups keep the input order, and are ordered by their first member."""
    values = [int(h, 16) if _is_hash(h) else None for _, h in entries]
    identical: dict[str, int] = {}  # fingerprint of each unhashed group's first member
    # Pigeonhole: two hashes within 6 bits agree on at least one of their eight bytes.
    buckets: dict[tuple[int, int], list[int]] = {}  # of each group's first photo
    leader = list(range(len(entries)))
    taken = [_captured(result) for result, _ in entries]
    # The capture times (to the second) and fractions of a second of each group's photos: a
    # copy without either (a messaging app strips EXIF) may lead a group that photos taken at
    # two different times, or the frames of one burst, must not all join.
    seconds: dict[int, set[str]] = {}
    fractions: dict[int, set[str]] = {}
    for i, value in enumerate(values):
        if value is None:
            content = entries[i][0].fingerprint
            if content is not None:
                leader[i] = identical.setdefault(content, i)
            continue
        keys = [(band, (value >> (8 * band)) & 0xFF) for band in range(8)]
        candidates = sorted({j for key in keys for j in buckets.get(key, ())})
        second, fraction = taken[i] if taken[i] is not None else (None, None)
        for j in candidates:
            other = values[j]
            assert other is not None
            a, b = entries[i][0], entries[j][0]
            if (
                (value ^ other).bit_count() <= DUPLICATE_BITS
                and _same_shape(a, b)
                and _same_place(a, b)
                and (second is None or seconds[j] <= {second})
                and (fraction is None or fractions[j] <= {fraction})
            ):
                leader[i] = j
                break
        else:
            for key in keys:
                buckets.setdefault(key, []).append(i)
            seconds[i], fractions[i] = set(), set()
        if second is not None:
            seconds[leader[i]].add(second)
        if fraction is not None:
            fractions[leader[i]].add(fraction)
    _pair_live_photos(entries, leader)
    groups: dict[int, list[FileResult]] = {}
    for i, (result, _) in enumerate(entries):
        groups.setdefault(leader[i], []).append(result)
    return list(groups.values())  # a dict keeps the order of each group's first member


def _pair_live_photos(entries: list[tuple[FileResult, str | None]], leader: list[int]) -> None:
    """Fold a Live Photo's video, and an iPhone's edit of a photo, into the group of the photo,
    whichever group that is (it may have joined a copy of it): a phone saves one moment as a
    photo and a short video of one name side by side (``IMG_0001.HEIC``, ``IMG_0001.MOV``),
    and an edit beside them as ``IMG_E0001.HEIC`` (and ``IMG_E0001.MOV``)."""
    stills: dict[str, int] = {}
    for i, (result, _) in enumerate(entries):
        if not result.facts.get("video"):
            stills.setdefault(_moment(result.path), i)
    for i, (result, _) in enumerate(entries):
        still = stills.get(_moment(result.path))
        if still is None or leader[i] != i or leader[still] == i:
            continue
        if result.facts.get("video") or _is_edit(result.path):
            target = leader[still]
            for k, lead in enumerate(leader):
                if lead == i:
                    leader[k] = target


_APPLE_EDIT = re.compile(r"IMG_E(\d{4})")


def _moment(path: str) -> str:
    """The path without its extension, and without the mark of an iPhone's edit: the same
    folder and name, written the same way."""
    folder, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    edit = _APPLE_EDIT.fullmatch(stem)
    return f"{folder}/IMG_{edit.group(1)}" if edit else f"{folder}/{stem}"


def _is_edit(path: str) -> bool:
    name = path.rpartition("/")[2]
    return _APPLE_EDIT.fullmatch(name.rsplit(".", 1)[0]) is not None


def _best_box(result: FileResult) -> tuple[float, float, float, float] | None:
    """The best-matching face's box as fractions of the photo's width and height."""
    best = result.best_face
    if best is None or not (result.width and result.height):
        return None
    x1, y1, x2, y2 = best.box
    w, h = result.width, result.height
    return x1 / w, y1 / h, x2 / w, y2 / h


def _same_place(a: FileResult, b: FileResult) -> bool:
    box_a, box_b = _best_box(a), _best_box(b)
    if box_a is None or box_b is None:
        return True
    return iou(box_a, box_b) >= SAME_PLACE


def _captured(result: FileResult) -> tuple[str, str | None] | None:
    """The EXIF capture time as the camera's clock showed it (a copy may lose the zone), and
    its fraction of a second when recorded."""
    photo = _dict(result.facts.get("photo"))
    value, subsec = photo.get("captured_at"), photo.get("captured_subsec")
    if not isinstance(value, str):
        return None
    if not isinstance(subsec, str) or not subsec.isdigit():
        return value[:19], None
    return value[:19], subsec.rstrip("0") or "0"  # "5" and "500" are both half a second


def _is_hash(value: str | None) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{1,16}", value) is not None


def _same_shape(a: FileResult, b: FileResult) -> bool:
    if not (a.width and a.height and b.width and b.height):
        return True
    return abs(a.width / a.height - b.width / b.height) <= _ASPECT_TOLERANCE * (a.width / a.height)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
