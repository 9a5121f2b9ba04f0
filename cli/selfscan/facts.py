"""What a photo's header says about it: when, where, with which camera, how big. No pixels.

``photo_facts`` never raises: EXIF is written by countless devices and editors, and much of it is
wrong (zero denominators, impossible dates, bogus hemisphere letters). A value that cannot be
trusted becomes None; a file that cannot be read becomes ``{"error": reason}`` with every other
key None.
"""

from __future__ import annotations

import contextlib
import math
import re
from datetime import datetime
from typing import Any

from PIL import Image

from .errors import FileError
from .exportjson import plausible_time
from .imagefile import Source, opened, orientation_of, upright_size

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_SUBSEC_TIME_ORIGINAL = 0x9291
_MAKE = 0x010F
_MODEL = 0x0110
_IMAGE_WIDTH = 0x0100
_IMAGE_LENGTH = 0x0101
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):(\d{2})$")

KEYS = (
    "captured_at",
    "captured_subsec",
    "captured_saved",
    "gps",
    "camera",
    "width",
    "height",
    "stored_width",
    "stored_height",
    "orientation",
    "format",
    "file_size",
    "frames",
    "error",
)


def photo_facts(source: Source) -> dict[str, Any]:
    """Facts from the header and EXIF of ``source`` (a path or the file's bytes).

    Returns:
        A dict with every key of ``KEYS``: ``captured_at`` (ISO 8601, with the UTC offset when
        the camera recorded one), ``captured_subsec`` (the digits of its fraction of a second,
        EXIF SubSecTimeOriginal: the frames of a burst share their second), ``captured_saved``
        (True when the time is EXIF DateTime, when the file was last saved, for want of
        DateTimeOriginal),
        ``gps`` (``{"latitude", "longitude", "altitude"}`` in degrees
        and metres, altitude possibly None), ``camera`` (``{"make", "model"}``), the upright
        ``width``/``height`` and the ``stored_width``/``stored_height`` before the EXIF
        orientation, ``orientation`` (1..8), Pillow's ``format`` name, ``file_size`` in bytes,
        ``frames`` (the pages of a TIFF, frames of an animation, images of a HEIF or MPO file:
        only the first is scanned) and ``error`` (None, or why the file could not be read).
        Absent values are None.
    """
    facts: dict[str, Any] = dict.fromkeys(KEYS)
    try:
        with opened(source) as (im, size):
            facts["file_size"] = size or None
            facts["format"] = im.format
            _fill(facts, im)
            facts["frames"] = _frames(im)
    except FileError as exc:
        facts["error"] = exc.reason
    except Exception as exc:
        facts["error"] = f"cannot read the image header: {type(exc).__name__}"
    return facts


def _fill(facts: dict[str, Any], im: Image.Image) -> None:
    heif_orientation = im.info.get("original_orientation")
    if heif_orientation in range(1, 9):
        # HEIF decoders apply the rotation themselves: the reported size is already upright.
        orientation = heif_orientation
        stored = upright_size(*im.size, orientation)
    else:
        orientation = orientation_of(im) if _has_exif(im) else 1
        stored = _stored_size(im)
    facts["orientation"] = orientation
    facts["stored_width"], facts["stored_height"] = stored
    facts["width"], facts["height"] = upright_size(*stored, orientation)
    exif = _exif(im)
    if exif is None:
        return
    sub = _ifd(exif, _EXIF_IFD)
    original = _timestamp(sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL))
    facts["captured_at"] = original or _timestamp(exif.get(_DATETIME), sub.get(_OFFSET_TIME))
    # Without DateTimeOriginal, DateTime may be when an editor last saved a copy, not when it
    # was taken: two copies saved apart are still one photo.
    facts["captured_saved"] = True if facts["captured_at"] and not original else None
    subsec = (header_text(sub.get(_SUBSEC_TIME_ORIGINAL)) or "").strip() if original else ""
    facts["captured_subsec"] = subsec if subsec.isdigit() else None
    facts["gps"] = _gps(_ifd(exif, _GPS_IFD))
    make, model = header_text(exif.get(_MAKE)), header_text(exif.get(_MODEL))
    if make or model:
        facts["camera"] = {"make": make, "model": model}


def _frames(im: Image.Image) -> int:
    """How many pages, frames or images the file holds (counting a GIF's walks its frames).
    A JPEG's further images count only when they are as large as the first (a stereo pair's),
    not the thumbnails and gain maps (Ultra HDR: a brightness map of a quarter the size) a
    phone or camera adds."""
    try:
        frames = max(1, int(getattr(im, "n_frames", 1)))
    except Exception:  # a damaged later frame: the first is what is scanned
        return 1
    if im.format == "MPO" and frames > 1:  # a gain map is smaller than the photo it lights
        size, photos = im.size, 0
        try:
            for frame in range(frames):
                im.seek(frame)
                photos += im.size == size
        except Exception:  # a damaged later image: the first is what is scanned
            return max(1, photos)
        finally:
            with contextlib.suppress(Exception):
                im.seek(0)
        return photos
    return frames


def _stored_size(im: Image.Image) -> tuple[int, int]:
    """The pixels' size as stored. Pillow gives a TIFF's size upright before it is turned (for
    orientations 5-8 its width and height are swapped): the TIFF's own tags say what it stores."""
    if im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        width, height = tags.get(_IMAGE_WIDTH), tags.get(_IMAGE_LENGTH)
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return width, height
    return im.size


def _has_exif(im: Image.Image) -> bool:
    # Pillow finds a PNG's EXIF by decoding the whole image unless it came before the pixels.
    return im.format != "PNG" or "exif" in im.info


def _exif(im: Image.Image) -> Image.Exif | None:
    if not _has_exif(im):
        return None
    try:
        exif = im.getexif()
    except Exception:
        return None
    return exif or None


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        return {}


MAX_TEXT = 200


def header_text(value: Any) -> str | None:
    """A text value of a file's header (EXIF, a video's tags) as stored: stripped, NULs gone,
    at most ``MAX_TEXT`` characters; None when empty or not text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    # A camera make is a few words; a 60 KB one would be copied into the index and every report.
    return (value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…") or None


def _timestamp(value: Any, offset: Any) -> str | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (plus ``+HH:MM``) as ISO 8601; None when not a real time."""
    text = header_text(value)
    if not text:
        return None
    moment = None
    # The EXIF form, and the ISO form some editors write instead ("2019-07-14T18:30:05").
    for form in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(text[:19], form)
            break
        except ValueError:
            continue
    if moment is None:
        return None
    if not plausible_time(moment):
        return None
    iso = moment.isoformat()
    match = _OFFSET_RE.match(header_text(offset) or "")
    if match and int(match[2]) <= 14 and int(match[3]) < 60:
        iso += f"{match[1]}{match[2]}:{match[3]}"
    return iso


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _degrees(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """Degrees from EXIF (degrees, minutes, seconds) rationals and a hemisphere letter."""
    parts = value if isinstance(value, (tuple, list)) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None or n < 0 for n in numbers) or any(n >= 60 for n in numbers[1:]):  # type: ignore[operator]
        return None  # (75 minutes: a writer's error, and a wrong place if summed)
    total = sum(n / 60**i for i, n in enumerate(numbers))  # type: ignore[operator]
    letter = (header_text(ref) or positive)[:1].upper()
    if letter not in (positive, negative) or total > limit:
        return None
    return -total if letter == negative else total


def _gps(gps: dict[int, Any]) -> dict[str, float | None] | None:
    if not gps:
        return None
    lat = _degrees(gps.get(2), gps.get(1), "N", "S", 90.0)
    lon = _degrees(gps.get(4), gps.get(3), "E", "W", 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None  # 0/0 is what receivers without a fix write, not a place
    altitude = _number(gps.get(6))
    ref = gps.get(5, 0)
    ref = ref[0] if isinstance(ref, bytes) and ref else ref
    if altitude is not None and ref not in (0, 1):
        altitude = None
    elif altitude is not None and ref == 1:
        altitude = -altitude
    return {"latitude": round(lat, 7), "longitude": round(lon, 7), "altitude": altitude}


# ISO 6709 as phones and cameras write it in a video's ``location`` tag: "+37.7858-122.4064/",
# "+37.7858-122.4064+015.000/" (iPhone, with altitude), or degrees-minutes(-seconds) forms such
# as "+3747.15-12224.38/" (DDMM.MM, DDDMM.MM).
_ISO6709 = re.compile(r"^([+-])(\d+(?:\.\d*)?)([+-])(\d+(?:\.\d*)?)(?:([+-]\d+(?:\.\d*)?))?")


def video_location(tags: dict[str, str]) -> dict[str, float | None] | None:
    """The place a video's container tags give (``latitude``, ``longitude``, ``altitude``),
    or None when there is none or it is not a valid position."""
    for key in ("com.apple.quicktime.location.ISO6709", "location", "location-eng"):
        found = _ISO6709.match((tags.get(key) or "").strip())
        if found is None:
            continue
        lat = _sexagesimal(found.group(2), 2)
        lon = _sexagesimal(found.group(4), 3)
        if lat is None or lon is None:
            continue
        lat, lon = (
            (-lat if found.group(1) == "-" else lat),
            (-lon if found.group(3) == "-" else lon),
        )
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            continue
        altitude = float(found.group(5)) if found.group(5) else None
        return {"latitude": round(lat, 6), "longitude": round(lon, 6), "altitude": altitude}
    return None


def _sexagesimal(text: str, degree_digits: int) -> float | None:
    """Decimal degrees from ISO 6709's D, DM or DMS form (told apart by the digits before the
    point: 2 or 3 for degrees, 2 more for minutes, 2 more for seconds)."""
    whole, _, fraction = text.partition(".")
    extra = len(whole) - degree_digits
    if extra not in (0, 2, 4):
        return None
    value = float(f"{whole[-2:] if extra else whole}.{fraction or '0'}")
    if extra == 0:
        return value
    degrees = float(whole[:degree_digits])
    if extra == 2:
        return degrees + value / 60 if value < 60 else None
    minutes = float(whole[degree_digits : degree_digits + 2])
    return degrees + minutes / 60 + value / 3600 if minutes < 60 and value < 60 else None
