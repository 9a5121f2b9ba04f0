"""One writer per output format behind ``writer_for``.

Writers receive results one at a time (``add``) and finish with ``close``; the streaming formats
(JSONL, CSV) write each record as it arrives, so a long scan's output is usable while it runs.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from ..errors import InputError, OutputError
from ..names import SNIFF_BYTES, is_archive_name, kind_of, sniff
from ..types import FileResult, ScanSummary


class Writer(Protocol):
    """What every report writer does."""

    def add(self, result: FileResult) -> None: ...

    def close(self, summary: ScanSummary) -> None: ...


FORMATS = ("table", "jsonl", "json", "csv", "html")

_BY_EXTENSION = {".html": "html", ".htm": "html", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BY_EXTENSION |= {".json": "json", ".csv": "csv"}


def format_for(output: str | None) -> str:
    """The format a report file's extension names (``-o report.html``), else the table."""
    if output is None or output == "-":
        return "table"
    return _BY_EXTENSION.get(os.path.splitext(output)[1].lower(), "table")


def writer_for(fmt: str, stream: IO[str], **options: object) -> Writer:
    """The writer for ``fmt`` writing to ``stream``. Options: ``threshold`` (the match
    threshold: faces at least that similar count as the person's in the exposure facts) for
    every format, ``profile_name`` for HTML."""
    from .records import CsvWriter, JsonLinesWriter, JsonWriter

    threshold = options.get("threshold")
    assert threshold is None or isinstance(threshold, float)
    if fmt == "jsonl":
        return JsonLinesWriter(stream, threshold)
    if fmt == "json":
        return JsonWriter(stream, threshold)
    if fmt == "csv":
        return CsvWriter(stream, threshold)
    if fmt == "html":
        from .html import HtmlWriter

        return HtmlWriter(stream, **options)  # type: ignore[arg-type]
    raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


class FileReport:
    """The writer for ``fmt`` into the file ``path`` the user named (``-o``).

    The report is written (mode 0600) to a temporary file beside ``path``, created at once so
    that a folder that cannot take it is known before any work, and put in place by ``close``,
    also after Ctrl-C (a partial report is still a report). A scan that fails instead leaves an
    earlier report at ``path`` as it was (``discard``). A terminal, a pipe or ``/dev/stdout`` is
    written to directly. A failure to create or write is one ``OutputError``."""

    def __init__(self, fmt: str, path: Path, **options: object) -> None:
        self.path = self.target = path
        self.temp: Path | None = None
        try:
            mode: int | None = os.stat(path).st_mode
        except OSError:
            mode = None  # missing, or the open below says what is wrong
        if mode is not None and stat.S_ISDIR(mode):
            raise OutputError(f"cannot write the report to {path}: it is a folder")
        # A terminal, a pipe or a device is written to where it is, never replaced.
        special = mode is not None and not stat.S_ISREG(mode)
        if mode is not None and not special:
            _refuse_media(path)
        try:
            if special:
                fd = os.open(path, os.O_WRONLY)
            else:
                # Beside the file a symlink points to: that file is replaced, the link stays.
                self.target = Path(os.path.realpath(path))
                _drop_stale_partials(self.target)
                self.temp = self.target.with_name(f".{self.target.name}.{os.getpid()}.partial")
                fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            why = exc.strerror or str(exc)
            if isinstance(exc, FileNotFoundError) and not path.parent.is_dir():
                why = f"the folder {path.parent} does not exist (create it first)"
            raise OutputError(f"cannot write the report to {path}: {why}") from None
        self.stream = open(fd, "w", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
        self.writer = writer_for(fmt, self.stream, **options)

    def add(self, result: FileResult) -> None:
        with self._writing():
            self.writer.add(result)

    def close(self, summary: ScanSummary) -> None:
        with self._writing():
            self.writer.close(summary)
            self.stream.close()
            if self.temp is not None:
                os.replace(self.temp, self.target)
                self.temp = None

    def discard(self) -> None:
        """Drop what was written: the scan failed, and an earlier report stays as it was."""
        with contextlib.suppress(OSError):
            self.stream.close()
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            self.temp = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            self.discard()
            raise OutputError(
                f"writing the report to {self.path} failed: {exc.strerror or exc}"
            ) from None


def _drop_stale_partials(target: Path) -> None:
    """Remove what an earlier scan killed with -9 left of its report beside ``target``
    (``.NAME.PID.partial`` of a process that no longer runs, and that was this user's)."""
    head, tail = f".{target.name}.", ".partial"
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            pid = entry.name[len(head) : -len(tail)]
            if not (entry.name.startswith(head) and entry.name.endswith(tail) and pid.isdigit()):
                continue
            try:
                os.kill(int(pid), 0)
                continue  # still running: another scan writing the same report
            except ProcessLookupError:
                pass
            except OSError:
                continue  # another user's process
            mine = (
                not hasattr(os, "getuid") or entry.stat(follow_symlinks=False).st_uid == os.getuid()
            )
            if mine:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# How each of selfscan's own reports begins (JSONL: a record, or the summary alone; JSON; CSV's
# header; HTML's head up to its title).
REPORT_STARTS = (b'{"path": ', b'{"summary": ', b'{"results": [', b"path,status,score,")
HTML_START = b"<!DOCTYPE html>"
HTML_TITLE = b"<title>selfscan: "


def _is_report(head: bytes) -> bool:
    return (
        not head
        or head.startswith(REPORT_STARTS)
        or (head.startswith(HTML_START) and HTML_TITLE in head)
    )


def _refuse_media(path: Path) -> None:
    """``-o`` replaces only an earlier selfscan report (or an empty file): never a photo, a video
    or an archive, nor any other file of yours. The existing regular file ``path`` is looked at
    by its first bytes (and its name, for what those do not show)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(max(SNIFF_BYTES, 1024))
    except OSError:
        return  # the open for writing says what is wrong
    if _is_report(head):
        return
    what = sniff(head) or kind_of(path.name) or ("zip" if is_archive_name(path.name) else None)
    if what is not None:
        raise OutputError(
            f"{path} is {'an' if what[0] in 'aeiou' else 'a'} {what} file and selfscan never "
            "overwrites photos, videos or archives: choose another report file with -o"
        )
    raise OutputError(
        f"{path} exists and is not a selfscan report: -o replaces only an earlier report; "
        "choose another file, or delete this one first"
    )
