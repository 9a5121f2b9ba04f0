"""Machine-readable records: JSONL (the stable contract), JSON and CSV.

JSONL: one object per scanned item, in scan order::

    {"path": str, "status": str, "score": float|null,
     "faces": [{"box": [x1, y1, x2, y2], "det_score": float, "similarity": float|null}],
     "error": str|null, ...}

Boxes are in the original image's upright pixel coordinates; a video's faces also carry
``time``, the second of the sampled frame they were found in. Keys after ``error`` (``width``,
``height``, ``facts``, and ``exposure`` for matches and possible matches: see
``exposure.exposure_facts``) may be added in later versions; the ones above never change.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from ..exposure import exposure_facts
from ..shown import visible
from ..types import STATUSES, FileResult, ScanSummary

EXPOSED = ("match", "possible")


def record(result: FileResult, threshold: float | None = None) -> dict[str, Any]:
    """The JSON-ready record of one result; faces at least ``threshold`` similar count as the
    person's in its exposure facts (the report's match threshold, as in the HTML report)."""
    out: dict[str, Any] = {
        "path": result.path,
        "status": result.status,
        "score": result.score,
        "faces": [
            {"box": list(f.box), "det_score": f.det_score, "similarity": f.similarity}
            | ({} if f.time is None else {"time": f.time})
            for f in result.faces
        ],
        "error": result.error,
        "width": result.width,
        "height": result.height,
        "facts": result.facts,
    }
    if result.status in EXPOSED:
        out["exposure"] = exposure_facts(result, threshold)
    return out


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False)


def _dumps(obj: Any) -> str:
    """JSON text on one line that any UTF-8 stream accepts: a file name's undecodable bytes
    (lone surrogates in Python) are written as ``\\udcXX`` escapes, which read back as the same
    name."""
    return _ONE_LINE.encode(obj).encode("utf-8", "backslashreplace").decode("utf-8")


def summary_record(summary: ScanSummary) -> dict[str, Any]:
    return {
        "total": summary.total,
        "counts": {status: summary.counts.get(status, 0) for status in STATUSES},
        "faces": summary.faces,
        "cached": summary.cached,
        "copies": summary.copies,
        "seconds": round(summary.seconds, 3),
        "interrupted": summary.interrupted,
        "left_out": summary.left_out,
        "gathered": summary.gathered,
    }


class JsonLinesWriter:
    """One JSON object per line, flushed as results arrive."""

    def __init__(self, stream: IO[str], threshold: float | None = None) -> None:
        self.stream = stream
        self.threshold = threshold

    def add(self, result: FileResult) -> None:
        self.stream.write(_dumps(record(result, self.threshold)) + "\n")
        self.stream.flush()

    def close(self, summary: ScanSummary) -> None:
        self.stream.flush()


class JsonWriter:
    """One JSON document, ``{"results": [...], "summary": {...}}``, written as the results
    arrive (one per line) so that memory does not grow with the library."""

    def __init__(self, stream: IO[str], threshold: float | None = None) -> None:
        self.stream = stream
        self.threshold = threshold
        self.stream.write('{"results": [')
        self.first = True

    def add(self, result: FileResult) -> None:
        self.stream.write(("\n" if self.first else ",\n") + _dumps(record(result, self.threshold)))
        self.first = False

    def close(self, summary: ScanSummary) -> None:
        self.stream.write(f'\n],\n"summary": {_dumps(summary_record(summary))}}}\n')
        self.stream.flush()


CSV_COLUMNS = [
    "path",
    "status",
    "score",
    "faces",
    "best_box",
    "error",
    "width",
    "height",
    "taken",
    "latitude",
    "longitude",
    "camera",
    "other_faces",
    "source",
    "place",
    "upload_ip",
    "album",
    "title",
    "taken_source",
    "location_source",
    "thread",
    "sender",
    "phone_path",
]
EXPOSURE_CELLS = len(CSV_COLUMNS) - CSV_COLUMNS.index("taken")


class CsvWriter:
    """One row per item; ``best_box`` is the box of the most similar face. The exposure columns
    (``taken`` … ``phone_path``) are filled for matches and possible matches."""

    def __init__(self, stream: IO[str], threshold: float | None = None) -> None:
        self.stream = stream
        self.threshold = threshold
        self.csv = csv.writer(stream)
        self.csv.writerow(CSV_COLUMNS)

    def add(self, result: FileResult) -> None:
        best = result.best_face
        row = [
            visible(result.path),  # a name: every control and bidi mark shown, as on screen
            result.status,
            "" if result.score is None else result.score,
            result.face_count,
            "" if best is None else " ".join(str(v) for v in best.box),
            result.error or "",
            result.width or "",
            result.height or "",
            *_exposure_cells(result, self.threshold),
        ]
        self.csv.writerow([_cell(c) for c in row])
        self.stream.flush()

    def close(self, summary: ScanSummary) -> None:
        self.stream.flush()


def _cell(value: Any) -> Any:
    """Text safe for a spreadsheet: undecodable name bytes and control characters as escapes
    (``\\xNN``, ``\\u202e``), and a leading ``'`` before text a spreadsheet would run as a
    formula (a camera name from hostile EXIF)."""
    if not isinstance(value, str):
        return value
    value = visible(value, prose=True)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _exposure_cells(result: FileResult, threshold: float | None) -> list[Any]:
    if result.status not in EXPOSED:
        return [""] * EXPOSURE_CELLS
    facts = exposure_facts(result, threshold)
    source = facts["export"] or ("archive" if facts["archive"] else "folder")
    return [
        facts["taken"] or "",
        "" if facts["latitude"] is None else facts["latitude"],
        "" if facts["longitude"] is None else facts["longitude"],
        facts["camera"] or "",
        "" if facts["other_faces"] is None else facts["other_faces"],
        source,
        *(facts[key] or "" for key in ("place", "upload_ip", "album", "title")),
        facts["taken_source"] or "",
        facts["location_source"] or "",
        *(facts[key] or "" for key in ("thread", "sender", "phone_path")),
    ]
