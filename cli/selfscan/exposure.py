"""What a photo of you gives away: when and where it was taken, with what, who else is in it,
and every place it is stored.

``exposure_facts`` is a pure function over a result's facts (``facts["photo"]`` from the file's
own metadata, ``facts["source"]`` from the export around it, ``facts["video"]`` for videos): it
never opens a file. The file's own EXIF wins over the export's metadata, and every value says
where it came from.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .exportjson import camera_name, plausible_time
from .filedates import name_time
from .names import original_name
from .types import FileResult, most_in_a_frame

_NO_FRACTION = re.compile(r"\.0+(?=Z$|[+-]\d\d:?\d\d$|$)")
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(.*)$")


def exposure_facts(result: FileResult, threshold: float | None = None) -> dict[str, Any]:
    """The exposure facts of one result, JSON-ready.

    Keys: ``kind`` (photo/video), ``taken`` (ISO 8601) and ``taken_source`` (exif, video,
    export, posted: only when it was posted or sent, the export giving no capture time;
    file_name: a date or time in the file's name, such as a phone or messaging app writes;
    saved: only EXIF DateTime, when the file was last saved, is known; None),
    ``has_location`` (coordinates or a place's name), ``latitude``, ``longitude``, ``place``,
    ``location_source``, ``camera``, ``upload_ip`` (where an export says it was uploaded from),
    ``matching_faces``, ``other_faces`` (None for videos), ``file_size``, ``width``, ``height``,
    ``path``, ``archive``, ``member``, ``export``, ``album``, ``title``, ``description``, ``post``,
    ``thread``, ``sender``, ``phone_path``, ``origin``, ``people``, for photos ``frames`` (pages
    or frames in the file, of which only the first is scanned) and for videos ``appearances``
    (seconds) and ``duration``.

    Args:
        result: a scan result.
        threshold: faces at least this similar count as the person's (besides the best face).
    """
    facts = result.facts or {}
    photo = _dict(facts.get("photo"))
    source = _dict(facts.get("source"))
    video = _dict(facts.get("video"))
    taken, taken_source = _taken(photo, source, video)
    # (an iPhone backup or a Photos library stores a file under a hash or a UUID: its name on
    # the phone, or as imported, is the one to read)
    shown_name = original_name(source) or result.path
    if taken_source in (None, "saved") and (named := name_time(shown_name)):
        taken, taken_source = named, "file_name"  # a phone's name says more than a save time
    lat, lon, where_from = _location(photo, source, video)
    place = _text(source.get("place"))
    if where_from is None and place:
        where_from = "export"
    matching, others = _faces(result, threshold, bool(video))
    out: dict[str, Any] = {
        "kind": "video" if video else "photo",
        "taken": taken,
        "taken_source": taken_source,
        "has_location": lat is not None or bool(place),
        "latitude": lat,
        "longitude": lon,
        "place": place,
        "location_source": where_from,
        "camera": _camera(photo) or _text(video.get("device")) or _text(source.get("camera")),
        "upload_ip": _text(source.get("upload_ip")),
        "matching_faces": matching,
        "other_faces": others,
        "file_size": _int(photo.get("file_size")) or _int(video.get("file_size")),
        "width": result.width,
        "height": result.height,
        "path": result.path,
        "archive": _text(source.get("archive")),
        "member": _text(source.get("member")),
        "export": _text(source.get("export")),
        "album": _text(source.get("album")),
        "title": _text(source.get("title")),
        "description": _text(source.get("description")),
        "post": _text(source.get("post")),
        "thread": _text(source.get("thread")),
        "sender": _text(source.get("sender")),
        "phone_path": _text(source.get("phone_path")),
        "origin": _text(source.get("origin")),
        "people": [p for p in source.get("people") or [] if isinstance(p, str)],
    }
    if not video:
        out["frames"] = _int(photo.get("frames"))
    if video:
        out["appearances"] = [t for t in facts.get("appearances") or [] if _is_num(t)]
        out["duration"] = video.get("duration") if _is_num(video.get("duration")) else None
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _int(value: Any) -> int | None:
    return int(value) if _is_num(value) and value >= 0 else None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def iso_time(value: Any) -> str | None:
    """ISO 8601 text for an EXIF date (``2019:06:01 12:34:56``), an ISO string or Unix seconds
    (given in UTC, so written with ``Z``); None for anything else."""
    if _is_num(value):
        try:
            moment = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = _text(value)
    if text is None:
        return None
    exif = _EXIF_TIME.match(text)
    if exif:
        y, mo, d, h, mi, s, rest = exif.groups()
        text = f"{y}-{mo}-{d}T{h}:{mi}:{s}{rest.strip()}"
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not plausible_time(moment):  # a clock never set: 0000, 9999, a container's zero time
        return None
    return _NO_FRACTION.sub("", text)  # a container's "15:00:00.000000Z": no news in zeros


def _taken(
    photo: dict[str, Any], source: dict[str, Any], video: dict[str, Any]
) -> tuple[str | None, str | None]:
    saved = iso_time(photo.get("captured_at")) if photo.get("captured_saved") else None
    for key in ("captured_at", "taken"):
        found = iso_time(photo.get(key))
        if found and not saved:
            return found, "exif"
    found = iso_time(video.get("created")) or iso_time(video.get("creation_time"))
    if found:
        return found, "video"
    found = iso_time(source.get("taken_local"))
    if found:
        return found, "export"
    taken = source.get("taken_time")
    found = iso_time(taken)
    if found:  # a Facebook/Instagram time may be only when it was posted: say so
        return found, "posted" if taken == source.get("posted_time") else "export"
    return (saved, "saved") if saved else (None, None)


def _coords(geo: Any) -> tuple[float, float] | None:
    if not isinstance(geo, dict):
        return None
    lat, lon = geo.get("latitude"), geo.get("longitude")
    if not (_is_num(lat) and _is_num(lon)):
        return None
    if (lat == 0 and lon == 0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lat), float(lon)


def _location(
    photo: dict[str, Any], source: dict[str, Any], video: dict[str, Any]
) -> tuple[float | None, float | None, str | None]:
    exif = _coords(photo.get("gps")) or _coords(photo)
    if exif:
        return exif[0], exif[1], "exif"
    recorded = _coords(video.get("gps"))
    if recorded:
        return recorded[0], recorded[1], "video"
    export = _coords(source.get("geo"))
    if export:
        return export[0], export[1], "export"
    return None, None, None


def _camera(photo: dict[str, Any]) -> str | None:
    """The photo's camera, named as ``exportjson.camera_name`` names it."""
    camera = photo.get("camera")
    if not isinstance(camera, dict):
        return _text(camera)
    return camera_name(_text(camera.get("make")), _text(camera.get("model")))


def _faces(result: FileResult, threshold: float | None, video: bool) -> tuple[int, int | None]:
    """How many faces are the person's, and how many others are in the photo (None for a
    video, whose faces come once per sampled frame: its matching faces are the most in one
    frame)."""
    if result.score is None:
        return 0, None if video else len(result.faces)
    matching = most_in_a_frame(
        f
        for f in result.faces
        if f.similarity is not None
        and (f.similarity == result.score or (threshold is not None and f.similarity >= threshold))
    )
    return matching, None if video else len(result.faces) - matching
