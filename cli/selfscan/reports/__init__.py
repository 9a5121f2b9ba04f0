"""One writer per output format behind ``writer_for``.

Writers receive results one at a time (``add``) and finish with ``close``; the streaming formats
(JSONL, CSV) write each record as it arrives, so a long scan's output is usable while it runs.
"""

from __future__ import annotations

from typing import IO, Protocol

from ..errors import InputError
from ..types import FileResult, ScanSummary


class Writer(Protocol):
    """What every report writer does."""

    def add(self, result: FileResult) -> None: ...

    def close(self, summary: ScanSummary) -> None: ...


FORMATS = ("table", "jsonl", "json", "csv", "html")


def writer_for(fmt: str, stream: IO[str], **options: object) -> Writer:
    """The writer for ``fmt`` writing to ``stream``."""
    from .records import CsvWriter, JsonLinesWriter, JsonWriter

    if fmt == "jsonl":
        return JsonLinesWriter(stream)
    if fmt == "json":
        return JsonWriter(stream)
    if fmt == "csv":
        return CsvWriter(stream)
    if fmt == "html":
        from .html import HtmlWriter

        return HtmlWriter(stream, **options)  # type: ignore[arg-type]
    raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
