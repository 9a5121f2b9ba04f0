"""How a report card's facts read to a person: times with their clock, places with where they
came from, sizes, durations. Pure text; the HTML writer escapes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

EXPORT_NAMES = {
    "google_takeout": "Google Takeout",
    "facebook": "Facebook export",
    "instagram": "Instagram export",
    "iphone_backup": "iPhone backup",
    "photos_library": "Photos library",
}
# A Photos library's origins as a person reads them (other exports' as the export says them)
LIBRARY_ORIGINS = {
    "recently_deleted": "in Recently Deleted",
    "copy": "a copy Photos made of it",
}


def now_text() -> str:
    """When the report was made, in local time with its offset from UTC."""
    now = dt.datetime.now().astimezone()
    offset = now.strftime("%z")
    return f"{now:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def shortened(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def source_name(facts: dict[str, Any]) -> str:
    if facts["export"]:
        return EXPORT_NAMES.get(facts["export"], facts["export"])
    return "an archive" if facts["archive"] else "a folder"


def when_text(facts: dict[str, Any]) -> str:
    if not facts["taken"]:
        return "unknown"
    origin = {
        "exif": "from the photo",
        "export": "from the export",
        "video": "from the video",
        "file_name": "from the file name",
        "saved": "when the file was last saved; it gives no capture time",
        "posted": "when it was posted or sent; the export gives no capture time",
    }
    said = origin.get(facts["taken_source"])
    # (the clock may be in parentheses itself: "(camera clock, time zone unknown)")
    return f"{clock_time(facts['taken'])}; {said}" if said else clock_time(facts["taken"])


def clock_time(iso: str) -> str:
    """An ISO time as a person reads it, saying which clock: UTC (export times), an offset, or
    the camera's own clock when the photo does not say its zone."""
    text = iso.replace("T", " ")
    if len(text) == 10:  # a date alone (from a file name): no clock to name
        return text
    if text.endswith("Z"):
        return text[:-1] + " UTC"
    if len(text) > 19 and text[19] in "+-":
        return f"{text[:19]} (UTC{text[19:]})"
    return text + " (camera clock, time zone unknown)"


def where_text(facts: dict[str, Any]) -> str:
    if not facts["has_location"]:
        return "none recorded"
    origin = {"exif": "from the photo", "video": "from the video"}.get(
        facts["location_source"], "from the export"
    )
    if facts["latitude"] is None:  # a place's name, without coordinates
        return f"{facts['place']} ({origin})"
    where = f"{facts['latitude']:.5f}, {facts['longitude']:.5f}"
    if facts.get("place"):
        where += f", {facts['place']}"
    return f"{where} ({origin})"


def size_text(facts: dict[str, Any]) -> str:
    parts = []
    if facts["width"] and facts["height"]:
        parts.append(f"{facts['width']} x {facts['height']} px")
    size = facts["file_size"]
    if size:
        parts.append(
            f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{max(1, round(size / 1e3))} kB"
        )
    return ", ".join(parts)


def minutes_seconds(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
