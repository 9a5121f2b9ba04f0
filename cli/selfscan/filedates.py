"""When a photo was taken, read from its file name: phones and messaging apps write the date
into the name (``IMG_20230715_143210.jpg``, ``PXL_20230715_143210123.jpg``,
``IMG-20230715-WA0003.jpg``, ``Screenshot_2023-07-15-14-32-10.png``) and many of them strip the
EXIF time the file would otherwise carry. Only the last resort for a photo's date."""

from __future__ import annotations

import datetime as dt
import re

from .exportjson import plausible_time

_FIRST_YEAR = 1990  # no phone or camera wrote dates into names before digital photos were common

# A date (YYYYMMDD or YYYY-MM-DD, '_' or '.' also between its parts), then, optionally, after
# one separator, a time (HHMMSS or HH-MM-SS, '.' or '_' also between its parts) and up to three
# digits of milliseconds. Neither digits nor lower-case hex letters may run on either side, so
# a counter or a hash is no date (a phone writes IMG20230715..., a hash ...a20230715b...).
_NAMED = re.compile(
    r"(?<![0-9a-f])(?P<y>(?:19|20)\d\d)(?P<s>[-_.]?)(?P<mo>\d\d)(?P=s)(?P<d>\d\d)"
    r"(?:[-_ T.]?(?P<h>\d\d)(?P<t>[-_.:]?)(?P<mi>\d\d)(?P=t)(?P<sec>\d\d)(?:[-_.]?\d{1,3})?)?"
    r"(?![0-9a-f])"
)
# The lengths of an unbroken run of digits that starts a date: "2023-07-15" (4), "20230715"
# (8), "20230715143210" (14). Others are ids ("..._2019081512345678_..._n.jpg").
_DATE_RUNS = (4, 8, 14)
_DIGITS = re.compile(r"\d+")
_UTC_PREFIXES = ("PXL_",)  # Google Pixel names its photos by the UTC time


def name_time(path: str) -> str | None:
    """The ISO 8601 time (or date alone) a file's name gives, or None.

    Times carry no zone (the phone's clock), except for names known to be in UTC (``Z``).

    Args:
        path: a path or archive member path (``a.zip!/x/IMG_20230715_143210.jpg``); only the last
            part is read.
    """
    name = re.split(r"[/\\]", path)[-1]
    for found in _NAMED.finditer(name):
        run = _DIGITS.match(name, found.start())
        if run is None or len(run.group()) not in _DATE_RUNS:
            continue
        parts = found.groupdict()
        try:
            day = dt.date(int(parts["y"]), int(parts["mo"]), int(parts["d"]))
        except ValueError:
            continue
        if day.year < _FIRST_YEAR:
            continue
        if not plausible_time(dt.datetime.combine(day, dt.time(12))):
            continue
        try:
            clock = dt.time(int(parts["h"]), int(parts["mi"]), int(parts["sec"]))
        except (TypeError, ValueError):  # no time, or digits that are none: the date alone
            return day.isoformat()
        moment = dt.datetime.combine(day, clock)
        if not plausible_time(moment):  # 2000-01-01 00:00:00: a reset clock named it
            continue
        zone = "Z" if name.startswith(_UTC_PREFIXES) else ""
        return moment.isoformat() + zone
    return None
