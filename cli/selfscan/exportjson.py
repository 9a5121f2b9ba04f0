"""Values in export JSON files: text, numbers, timestamps and places, read without raising.

Shared by ``takeout`` and ``social``. Facebook and Instagram write non-ASCII text as UTF-8 bytes
escaped one by one (``"\\u00c3\\u00a9"`` for "é"); ``fix_mojibake`` repairs it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_MIN_TIME = -2_208_988_800  # 1900-01-01
_MAX_TIME = 4_102_444_800  # 2100-01-01
_EARLIEST = dt.datetime(1900, 1, 1)  # as _MIN_TIME
_CLOCK_SLACK = dt.timedelta(days=2)  # a camera's clock a zone or two ahead of this machine's
_SURROGATE = re.compile("[\ud800-\udfff]")  # in parsed JSON, only ever a lone one
# QuickTime's, Unix's and zip's epochs, and where a camera whose clock was reset starts it
_ZERO_TIMES = tuple(dt.datetime(y, 1, 1) for y in (1904, 1970, 1980, 2000))


def plausible_time(moment: dt.datetime) -> bool:
    """Whether a camera's or a container's time can be when it was taken: not before 1900 nor
    after today, and not a zero time (1904-01-01, 1970-01-01 or 1980-01-01 at midnight, a
    container's or archive's epoch, or 2000-01-01 at midnight, a reset camera clock). A clock
    never set says 0000, 9999 or its epoch."""
    naive = moment.replace(tzinfo=None)
    if naive in _ZERO_TIMES:
        return False
    return _EARLIEST <= naive <= dt.datetime.now() + _CLOCK_SLACK


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 bytes that were written as one ``\\u00XX`` escape each (Facebook, Instagram).

    The text is returned unchanged unless it round-trips through latin-1 into valid UTF-8.
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def load_json(data: bytes | str) -> tuple[Any, str | None]:
    """The parsed JSON value and None, or None and why the data is not JSON."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, "malformed JSON: not UTF-8 text"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError) as exc:
        text = str(exc) or type(exc).__name__
        return None, f"malformed JSON: {text[:120]}"


def as_text(value: Any, repair: bool = False) -> str | None:
    """A non-empty, stripped string (mojibake repaired when ``repair``), else None. A lone
    surrogate (``\\ud83d``: half an emoji, from text cut short) becomes U+FFFD, as it is no
    character and cannot be written as UTF-8."""
    if not isinstance(value, str):
        return None
    value = _SURROGATE.sub("\ufffd", value).strip()
    if not value:
        return None
    return fix_mojibake(value) if repair else value


def as_number(value: Any) -> float | None:
    """A finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_timestamp(value: Any) -> int | None:
    """Unix seconds from a number, a numeric string, an ISO 8601 date and time (UTC unless it
    says otherwise, as Instagram's older exports write them), or Takeout's
    ``{"timestamp": ...}``."""
    if isinstance(value, dict):
        value = value.get("timestamp")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = _iso_seconds(value.strip())
    number = as_number(value)
    if number is None or number == 0 or not _MIN_TIME <= number <= _MAX_TIME:
        return None
    return int(number)


def camera_name(make: str | None, model: str | None) -> str | None:
    """``make model`` without repeating the make (``Apple iPhone 12``, ``Canon EOS 5D``, and
    ``NIKON D750`` for make ``NIKON CORPORATION``): for a photo's EXIF and an export's alike."""
    if make and model:
        brand = make.split()[0].lower()
        return model if model.lower().startswith((make.lower(), brand)) else f"{make} {model}"
    return model or make


def as_local_time(value: Any) -> str | None:
    """A camera's clock time as ISO 8601 without a zone (``2019-05-30T08:15:00``), from the
    EXIF form (``2019:05:30 08:15:00``) an export copies; None when not a real time."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) < 19 or text[4] != ":" or text[7] != ":":
        return None
    try:
        when = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return when.isoformat() if 1900 <= when.year < 2100 else None


def _iso_seconds(text: str) -> float | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def as_geo(value: Any) -> dict[str, float | None] | None:
    """``{"latitude", "longitude", "altitude"}`` from a geo object; None when unknown (0, 0)
    or out of range."""
    if not isinstance(value, dict):
        return None
    lat, lon = as_number(value.get("latitude")), as_number(value.get("longitude"))
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"latitude": lat, "longitude": lon, "altitude": as_number(value.get("altitude"))}


def read_reason(exc: BaseException) -> str:
    """Why an export file could not be read, for a message: a parse error's ``reason``, an OS
    error's own words, else the exception's text or type."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
