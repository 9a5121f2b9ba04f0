"""Which results in a report are one photo: copies of it (the same file in two exports, a
resized or re-encoded copy) fold into one entry with all its locations, by perceptual hash;
a Live Photo's video and an iPhone's edit go with the photo they belong to.
"""

from __future__ import annotations

import re

from .geometry import iou
from .moments import Times, captured, join_moments
from .types import FileResult

DUPLICATE_BITS = 6  # of 64: copies differ in a few bits, different photos in about half
SAME_PLACE = 0.5  # IoU of the best faces' relative boxes in two copies of one photo
_ASPECT_TOLERANCE = 0.03


def group_duplicates(entries: list[tuple[FileResult, str | None]]) -> list[list[FileResult]]:
    """Group results that are the same photo: nearly equal perceptual hashes (at most
    ``DUPLICATE_BITS`` of 64 differ), the same aspect ratio, and your face in the same place
    (the best faces' boxes, relative to the photo as shown, overlapping by ``SAME_PLACE`` IoU or
    more: two shots of one scene hash alike, but a copy has you where the original does), and no
    two different capture times in a group's EXIF, to the fraction of a second where the camera
    records it (the shots of a burst). Photos are taken in an order of their own (``order``:
    dated first, a fraction of a second and a zone first, larger first, then by hash), so the
    order the files are met in does not decide. Each joins the group whose first photo it
    copies most nearly, never through another copy, so near-duplicates do not chain a burst
    into one. A result without a hash (a video) joins one of identical content (the same
    fingerprint), or is a group of its own. Then a Live Photo's video and an iPhone's edit join
    the group of the photo they belong to (``moments.join_moments``). Groups are ordered by their
    first member in the input."""
    values = [int(h, 16) if _is_hash(h) else None for _, h in entries]
    identical: dict[str, int] = {}  # fingerprint of each unhashed group's first member
    # Pigeonhole: two hashes within 6 bits agree on at least one of their eight bytes.
    buckets: dict[tuple[int, int], list[int]] = {}  # of each group's first photo
    leader = list(range(len(entries)))
    taken = [captured(result) for result, _ in entries]
    times: dict[int, Times] = {}

    def order(i: int) -> tuple[bool, bool, bool, int, int, str]:
        """Dated before undated; a fraction of a second before none (a burst's frames lead,
        a copy that lost its fraction joins the one it copies); zoned before a clock alone (a
        copy that lost its zone matches a zoned copy's clock); larger before smaller (the
        original leads its copies); then by the hash: never by the order the files were met
        in, which would decide where a chain of near copies splits."""
        t, (result, _) = taken[i], entries[i]
        pixels = (result.width or 0) * (result.height or 0)
        undated, unzoned = t is None, t is None or t.instant is None
        return (
            undated,
            t is None or t.fraction is None,
            unzoned,
            -pixels,
            values[i] or 0,
            result.path,
        )

    for i in sorted(range(len(entries)), key=order):
        value = values[i]
        if value is None:
            content = entries[i][0].fingerprint
            if content is not None:
                leader[i] = identical.setdefault(content, i)
            continue
        keys = [(band, (value >> (8 * band)) & 0xFF) for band in range(8)]
        candidates = sorted({j for key in keys for j in buckets.get(key, ())})
        fits = [
            j
            for j in candidates
            if _copies(entries[i][0], entries[j][0], value, values[j]) and times[j].fits(taken[i])
        ]
        if fits:  # the nearest (the first of those as near): a re-share of the third frame
            leader[i] = min(fits, key=lambda j: ((value ^ values[j]).bit_count(), order(j)))  # type: ignore[operator]
        else:
            for key in keys:
                buckets.setdefault(key, []).append(i)
            times[i] = Times()
        times[leader[i]].add(taken[i])
    join_moments(entries, leader, taken)
    groups: dict[int, list[FileResult]] = {}
    for i, (result, _) in enumerate(entries):
        groups.setdefault(leader[i], []).append(result)
    return list(groups.values())  # a dict keeps the order of each group's first member


def _copies(a: FileResult, b: FileResult, value: int, other: int | None) -> bool:
    """Whether ``a`` looks like a copy of ``b``: hash, shape and face place."""
    return (
        other is not None
        and (value ^ other).bit_count() <= DUPLICATE_BITS
        and _same_shape(a, b)
        and _same_place(a, b)
    )


def _shown_size(result: FileResult) -> tuple[int, int] | None:
    if not (result.width and result.height):
        return None
    if result.turned in (90, 270):
        return result.height, result.width
    return result.width, result.height


def _best_box(result: FileResult) -> tuple[float, float, float, float] | None:
    """The best-matching face's box as fractions of the photo's width and height, in the
    photo as shown (turned upright when it is stored turned)."""
    best = result.best_face
    if best is None or not (result.width and result.height):
        return None
    x1, y1, x2, y2 = best.box
    w, h = result.width, result.height
    box = (x1 / w, y1 / h, x2 / w, y2 / h)
    for _ in range(result.turned // 90):  # a quarter turn clockwise: (x, y) -> (1 - y, x)
        box = (1 - box[3], box[0], 1 - box[1], box[2])
    return box


def _same_place(a: FileResult, b: FileResult) -> bool:
    box_a, box_b = _best_box(a), _best_box(b)
    if box_a is None or box_b is None:
        return True
    return iou(box_a, box_b) >= SAME_PLACE


def _is_hash(value: str | None) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{1,16}", value) is not None


def _same_shape(a: FileResult, b: FileResult) -> bool:
    size_a, size_b = _shown_size(a), _shown_size(b)
    if size_a is None or size_b is None:
        return True
    ratio_a, ratio_b = size_a[0] / size_a[1], size_b[0] / size_b[1]
    return abs(ratio_a - ratio_b) <= _ASPECT_TOLERANCE * ratio_a
