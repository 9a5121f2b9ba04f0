"""The moment a photo was taken, for the report's grouping: its EXIF capture time (the camera's
clock, the instant when the zone is known, the fraction of a second), and the files an iPhone
names for one moment (``IMG_0001.HEIC``, its Live Photo video ``IMG_0001.MOV``, its edit
``IMG_E0001.HEIC``), which go with the photo when their times agree.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .names import original_name, split_export
from .types import FileResult


@dataclass(frozen=True)
class Taken:
    """When a photo was taken, by its EXIF: the camera's clock to the second, the instant when
    the zone is known, and the fraction of a second when recorded."""

    clock: str
    instant: dt.datetime | None
    fraction: str | None


@dataclass
class Times:
    """The capture times of a group's photos: the instant its zoned photos share, every clock
    they show, and the fractions of a second."""

    instant: dt.datetime | None = None
    clocks: set[str] = field(default_factory=set)
    fractions: set[str] = field(default_factory=set)

    def fits(self, taken: Taken | None) -> bool:
        """Whether a photo taken at ``taken`` may join: the same instant as the zoned photos
        (a copy written in another zone), or a clock one of them shows (a copy that lost its
        zone), and the same fraction of a second when both say one."""
        if taken is None:
            return True
        if taken.instant is not None and self.instant is not None:
            same = taken.instant == self.instant
        else:
            same = not self.clocks or taken.clock in self.clocks
        return same and (taken.fraction is None or self.fractions <= {taken.fraction})

    def add(self, taken: Taken | None) -> None:
        if taken is None:
            return
        if taken.instant is not None:
            self.instant = taken.instant
        self.clocks.add(taken.clock)
        if taken.fraction is not None:
            self.fractions.add(taken.fraction)


def captured(result: FileResult) -> Taken | None:
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
    return Taken(value[:19], instant, fraction)


def join_moments(
    entries: list[tuple[FileResult, str | None]], leader: list[int], taken: list[Taken | None]
) -> None:
    """Fold a Live Photo's video, and an iPhone's edit of a photo, into the group of the photo,
    whichever group each is in (either may have joined a copy of itself): an iPhone saves one
    moment as ``IMG_0001.HEIC`` and ``IMG_0001.MOV`` side by side, and an edit beside them as
    ``IMG_E0001.HEIC`` (and ``IMG_E0001.MOV``); a Takeout export may put them in two parts of
    one export. Only such names pair, and only groups whose capture times agree: two photos
    of one name otherwise stay apart."""
    moments: dict[str, list[tuple[int, _CameraName]]] = {}
    for i, (result, _) in enumerate(entries):
        name = _camera_name(result)
        if name is not None:
            moments.setdefault(name.moment, []).append((i, name))
    groups: dict[int, list[int]] = {}  # each group's members, by its leader
    for i, lead in enumerate(leader):
        groups.setdefault(lead, []).append(i)
    for members in moments.values():
        stills = [(i, n) for i, n in members if not _is_video(entries[i][0])]
        originals = {i for i, n in stills if not n.edit}
        if not stills:
            continue
        # Two phones' IMG_0001 in one folder: each video or edit goes with the first, by path,
        # whose time agrees.
        anchors = sorted(originals or [stills[0][0]], key=lambda k: entries[k][0].path)
        still_stems = {n.stem for _, n in stills}
        for i, name in members:
            if i in originals:
                continue
            if _is_video(entries[i][0]) and name.stem not in still_stems:
                continue  # IMG_E0001.MOV goes with IMG_E0001.HEIC, not without it
            for anchor in anchors:
                into, group = leader[anchor], leader[i]
                if into == group:
                    break
                if _agree(entries, taken, groups[into], groups[group]):
                    for k in groups[group]:
                        leader[k] = into
                    groups[into] += groups.pop(group)
                    break


def _agree(
    entries: list[tuple[FileResult, str | None]],
    taken: list[Taken | None],
    photo: list[int],
    joining: list[int],
) -> bool:
    """Whether the group of ``joining`` was taken at the moment of the group of ``photo``, by
    their photos' EXIF and their videos' recording times (a group without a time agrees)."""
    times = Times()
    for k in photo:
        times.add(taken[k])
    if not all(times.fits(taken[k]) for k in joining):
        return False
    for k in joining:
        times.add(taken[k])
    recorded = [v for k in photo + joining if (v := _recorded(entries[k][0])) is not None]
    return all(_near_in_time(times, v) for v in recorded)


def _recorded(result: FileResult) -> dt.datetime | None:
    """When a video was recorded, as an instant (its container's time, in UTC, or Apple's
    creation date with its zone)."""
    video = _dict(result.facts.get("video"))
    for key in ("created", "creation_time"):
        value = video.get(key)
        if not isinstance(value, str):
            continue
        text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value.strip().replace("Z", "+00:00"))
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return moment
    return None


_LIVE_SECONDS = 5  # a Live Photo's video starts about 1.5 s before its still


def _near_in_time(times: Times, recorded: dt.datetime) -> bool:
    """Whether a video recorded at ``recorded`` is of the moment of photos taken at ``times``:
    within seconds of their instant, or of one of their clocks in some zone (a whole number of
    quarter hours from UTC, at most 14 hours)."""
    if times.instant is not None:
        return abs((recorded - times.instant).total_seconds()) <= _LIVE_SECONDS
    if not times.clocks:
        return True
    utc = recorded.astimezone(dt.timezone.utc).replace(tzinfo=None)
    for clock in times.clocks:
        try:
            apart = abs((utc - dt.datetime.fromisoformat(clock)).total_seconds())
        except ValueError:
            return True
        off = apart % 900
        if apart <= 14 * 3600 + _LIVE_SECONDS and min(off, 900 - off) <= _LIVE_SECONDS:
            return True
    return False


# An iPhone's own names: IMG_0001 for a photo (and its Live Photo video), IMG_E0001 its edit.
_CAMERA_NAME = re.compile(r"IMG_(E?)(\d{4})", re.IGNORECASE)


@dataclass(frozen=True)
class _CameraName:
    moment: str  # the folder (or place in a Takeout export) and the photo's number
    edit: bool
    stem: str  # its own name without the extension (names differing in case are others)


def _camera_name(result: FileResult) -> _CameraName | None:
    """For a file an iPhone named (or an export lower-cased: ``img_e0001.jpg``): the moment it
    belongs to (its folder, or its place in a Takeout export or on the phone of an iPhone
    backup, and its number), whether it is an edit, and its own name without the extension;
    None for other names."""
    path = result.path
    source = _dict(result.facts.get("source"))
    member = source.get("member")
    if source.get("export") == "google_takeout" and isinstance(member, str):
        # The parts of one export (takeout-20240101T000000Z-001.zip, -002.zip, …) hold one
        # folder between them; another export's parts are another's.
        archive = path.split("!/", 1)[0]
        path = f"{(split_export(archive) or (archive,))[0]}!/{member}"
    phone_path = source.get("phone_path")
    if source.get("export") == "iphone_backup" and isinstance(phone_path, str):
        # Stored under hashes (``ab/ab12…``): its name and folder on the phone tell.
        backup = os.path.dirname(os.path.dirname(path))
        path = f"{backup}/{source.get('origin')}/{phone_path}"
    elif source.get("export") == "photos_library" and (imported := original_name(source)):
        # Named by UUID (``4A1B….heic``, its Live Photo video ``4A1B…_3.mov``): the name it
        # was imported under tells.
        path = f"{os.path.dirname(path)}/{imported}"
    folder, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    found = _CAMERA_NAME.fullmatch(stem)
    if found is None:
        return None
    return _CameraName(f"{folder}/{stem[:4]}{found.group(2)}", bool(found.group(1)), stem)


def _is_video(result: FileResult) -> bool:
    return bool(result.facts.get("video"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
