"""Which results in a report are one photo: copies of it (the same file in two exports, a
resized or re-encoded copy) fold into one entry with all its locations, by perceptual hash;
a Live Photo's video and an iPhone's edit go with the photo they belong to.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .geometry import iou
from .types import FileResult

DUPLICATE_BITS = 6  # of 64: copies differ in a few bits, different photos in about half
SAME_PLACE = 0.5  # IoU of the best faces' relative boxes in two copies of one photo
_ASPECT_TOLERANCE = 0.03


@dataclass(frozen=True)
class _Taken:
    """When a photo was taken, by its EXIF: the camera's clock to the second, the instant when
    the zone is known, and the fraction of a second when recorded."""

    clock: str
    instant: dt.datetime | None
    fraction: str | None

    def same_second(self, other: _Taken) -> bool:
        """The same moment to the second: by the instants when both zones are known (a copy
        written in another zone), else by the clocks (a copy may have lost its zone)."""
        if self.instant is not None and other.instant is not None:
            return self.instant == other.instant
        return self.clock == other.clock


def group_duplicates(entries: list[tuple[FileResult, str | None]]) -> list[list[FileResult]]:
    """Group results that are the same photo: nearly equal perceptual hashes (at most
    ``DUPLICATE_BITS`` of 64 differ), the same aspect ratio, and your face in the same place
    (the best faces' boxes, relative to the photo as shown, overlapping by ``SAME_PLACE`` IoU or
    more: two shots of one scene hash alike, but a copy has you where the original does), and no
    two different capture times in a group's EXIF, to the fraction of a second where the camera
    records it (the shots of a burst), whichever photo leads it (a copy without EXIF may). A
    photo joins the group whose first photo it copies most nearly, never through another copy,
    so near-duplicates do not chain a burst of shots into one. A result without a hash (a video)
    joins an earlier one of identical content (the same fingerprint), or is a group of its own.
    Then a Live Photo's video (the same name in the same folder as a photo) and an iPhone's edit
    (``IMG_E0001.HEIC`` beside ``IMG_0001.HEIC``), with their groups, join the group of the
    photo they belong to. Groups keep the input order, and are ordered by their first member."""
    values = [int(h, 16) if _is_hash(h) else None for _, h in entries]
    identical: dict[str, int] = {}  # fingerprint of each unhashed group's first member
    # Pigeonhole: two hashes within 6 bits agree on at least one of their eight bytes.
    buckets: dict[tuple[int, int], list[int]] = {}  # of each group's first photo
    leader = list(range(len(entries)))
    taken = [_captured(result) for result, _ in entries]
    # The capture times of each group's photos: a copy without one (a messaging app strips
    # EXIF) may lead a group that photos taken at two different times must not both join.
    times: dict[int, list[_Taken]] = {}
    for i, value in enumerate(values):
        if value is None:
            content = entries[i][0].fingerprint
            if content is not None:
                leader[i] = identical.setdefault(content, i)
            continue
        keys = [(band, (value >> (8 * band)) & 0xFF) for band in range(8)]
        candidates = sorted({j for key in keys for j in buckets.get(key, ())})
        fits = [j for j in candidates if _copies(entries[i][0], entries[j][0], value, values[j])]
        fits = [j for j in fits if _fits_times(taken[i], times[j])]
        if fits:  # the nearest (the first of those as near): a re-share of the third frame
            leader[i] = min(fits, key=lambda j: (value ^ values[j]).bit_count())  # type: ignore[operator]
        else:
            for key in keys:
                buckets.setdefault(key, []).append(i)
            times[i] = []
        if taken[i] is not None:
            times[leader[i]].append(taken[i])  # type: ignore[arg-type]
    _join_moments(entries, leader)
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


def _fits_times(mine: _Taken | None, group: list[_Taken]) -> bool:
    """Whether a photo taken at ``mine`` may join a group of photos taken at ``group``."""
    if mine is None:
        return True
    return all(
        mine.same_second(t)
        and (mine.fraction is None or t.fraction is None or mine.fraction == t.fraction)
        for t in group
    )


def _join_moments(entries: list[tuple[FileResult, str | None]], leader: list[int]) -> None:
    """Fold a Live Photo's video, and an iPhone's edit of a photo, into the group of the photo,
    whichever group each is in (either may have joined a copy of itself): a phone saves one
    moment as a photo and a short video of one name side by side (``IMG_0001.HEIC``,
    ``IMG_0001.MOV``), and an edit beside them as ``IMG_E0001.HEIC`` (and ``IMG_E0001.MOV``).
    Two photos of one name otherwise (``IMG_0002.PNG``, ``IMG_0002.JPG``) stay apart."""
    moments: dict[str, list[int]] = {}
    for i, (result, _) in enumerate(entries):
        moments.setdefault(_moment(result.path), []).append(i)
    for members in moments.values():
        stills = [i for i in members if not _is_video(entries[i][0])]
        originals = [i for i in stills if not _is_edit(entries[i][0].path)]
        anchor = (originals or stills or [None])[0]
        if anchor is None:
            continue
        for i in members:
            if i in originals:
                continue
            if _is_video(entries[i][0]) and not any(
                _stem(entries[s][0].path) == _stem(entries[i][0].path) for s in stills
            ):
                continue  # IMG_E0001.MOV goes with IMG_E0001.HEIC, not without it
            _merge(leader, into=leader[anchor], group=leader[i])


def _merge(leader: list[int], into: int, group: int) -> None:
    """Make every member of the group led by ``group`` a member of the group led by ``into``."""
    if into == group:
        return
    for k, lead in enumerate(leader):
        if lead == group:
            leader[k] = into


_APPLE_EDIT = re.compile(r"IMG_E(\d{4})")


def _stem(path: str) -> str:
    """The path without its extension: the same folder and name, written the same way."""
    folder, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{folder}/{stem}"


def _moment(path: str) -> str:
    """``_stem`` without the mark of an iPhone's edit (``IMG_E0001`` is ``IMG_0001``)."""
    folder, _, stem = _stem(path).rpartition("/")
    edit = _APPLE_EDIT.fullmatch(stem)
    return f"{folder}/IMG_{edit.group(1)}" if edit else f"{folder}/{stem}"


def _is_edit(path: str) -> bool:
    return _APPLE_EDIT.fullmatch(_stem(path).rpartition("/")[2]) is not None


def _is_video(result: FileResult) -> bool:
    return bool(result.facts.get("video"))


def _turns(result: FileResult) -> int:
    """The quarter turns (clockwise) that show a photo stored turned upright (``facts``)."""
    turned = _dict(result.facts.get("photo")).get("turned")
    return turned // 90 if turned in (90, 180, 270) else 0


def _shown_size(result: FileResult) -> tuple[int, int] | None:
    if not (result.width and result.height):
        return None
    if _turns(result) % 2:
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
    for _ in range(_turns(result)):  # a quarter turn clockwise: (x, y) -> (1 - y, x)
        box = (1 - box[3], box[0], 1 - box[1], box[2])
    return box


def _same_place(a: FileResult, b: FileResult) -> bool:
    box_a, box_b = _best_box(a), _best_box(b)
    if box_a is None or box_b is None:
        return True
    return iou(box_a, box_b) >= SAME_PLACE


def _captured(result: FileResult) -> _Taken | None:
    """When the photo was taken, by its EXIF DateTimeOriginal (not DateTime, which may be
    when an editor saved a copy)."""
    photo = _dict(result.facts.get("photo"))
    value, subsec = photo.get("captured_at"), photo.get("captured_subsec")
    if not isinstance(value, str) or photo.get("captured_saved"):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    instant = moment if moment is not None and moment.tzinfo is not None else None
    fraction = None
    if isinstance(subsec, str) and subsec.isdigit():
        fraction = subsec.rstrip("0") or "0"  # "5" and "500" are both half a second
    return _Taken(value[:19], instant, fraction)


def _is_hash(value: str | None) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{1,16}", value) is not None


def _same_shape(a: FileResult, b: FileResult) -> bool:
    size_a, size_b = _shown_size(a), _shown_size(b)
    if size_a is None or size_b is None:
        return True
    ratio_a, ratio_b = size_a[0] / size_a[1], size_b[0] / size_b[1]
    return abs(ratio_a - ratio_b) <= _ASPECT_TOLERANCE * ratio_a


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
