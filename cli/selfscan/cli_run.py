"""Running ``selfscan find`` in a terminal: the report writer, the progress bar, the tables and
summary that follow the scan, and the organised copies of matches. ``cli`` parses the options;
the library does the work.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from . import render
from .cli_boundary import ignore_signals, interrupted_status, stdout_closed, utf8_stdout
from .config import data_dir
from .errors import OutputError
from .ops import (
    FindRequest,
    OrganiseRequest,
    hard_links,
    organise_matches,
    prepare_find,
    stale_link,
)
from .render import escape
from .reports import FileReport, Writer, writer_for
from .types import FileResult, ScanSummary

if TYPE_CHECKING:
    from .organise import OrganisedFile


def run_find(
    out: Console,
    err: Console,
    request: FindRequest,
    fmt: str,
    output: Path | None,
    show_all: bool,
    progress: bool,
    organise: OrganiseRequest | None = None,
) -> None:
    """Run one ``find``: progress on ``err``, records to the report writer for ``fmt`` (stdout
    or ``output``), then the tables of matches and errors, the summary line and the organised
    copies; Ctrl-C (or SIGTERM, SIGHUP) stops the scan, keeps what was done and exits with status
    128 + the signal's number."""
    session = prepare_find(request)
    for note in session.notes:
        err.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)
    writer: Writer | None = None
    if fmt != "table":
        options: dict[str, object] = {"threshold": float(session.thresholds.match)}
        if fmt == "html":
            options["profile_name"] = session.profile.name
        if output is None:
            if stdout_closed():  # started with it closed: "selfscan find ... >&-"
                session.close()
                raise OutputError("standard output is closed: the records would be lost; use -o")
            utf8_stdout()
        try:
            writer = (
                FileReport(fmt, output, **options)
                if output is not None
                else writer_for(fmt, sys.stdout, **options)
            )
        except OutputError:
            session.close()  # gives the index, and its scan lock, back
            raise
    kept: list[FileResult] = []
    matched: list[FileResult] = []
    # Links an earlier --link-to placed show what their originals show now: one changed in
    # place since may no longer be you.
    links = hard_links(organise) if organise is not None else {}
    stale: list[tuple[Path, FileResult]] = []
    errors: list[FileResult] = []
    started = time.monotonic()
    interrupted = False
    try:
        # A live bar only on a terminal: FORCE_COLOR makes the console call a log file one.
        live = progress and err.is_terminal and sys.stderr.isatty()
        with render.scan_progress(err, live, session.progress) as cb:
            for result in session.results(cb):
                if writer is not None:
                    writer.add(result)
                if result.status in ("match", "possible") or (
                    show_all and result.status != "error"  # errors have their own table
                ):
                    kept.append(result)
                if result.status == "error":
                    errors.append(result)
                if result.status == "match" and organise is not None:
                    matched.append(result)
                if links and (link := stale_link(links, result)) is not None:
                    stale.append((link, result))
    except KeyboardInterrupt:
        interrupted = True
        ignore_signals()  # the summary and the report are next; a second Ctrl-C must not cut them
    except BaseException:
        if isinstance(writer, FileReport):
            writer.discard()
        raise
    finally:
        session.close()
    done = session.progress
    # Placed before the report is closed, so that its summary says what was placed.
    organised = None
    if organise is not None and matched:
        organised = organise_matches(
            matched, organise, session.thresholds.match, session.profile.name
        )
    summary = ScanSummary(
        total=done.done,
        counts=dict(done.counts),
        faces=done.faces,
        cached=done.cached,
        copies=done.copies,
        seconds=time.monotonic() - started,
        interrupted=interrupted,
        left_out=done.walk.left_out(),
        gathered=None if organise is None else _gathered(organise, organised or []),
    )
    if writer is not None:
        writer.close(summary)
    # The records went to a file, or there are none: the terminal's stdout shows the tables.
    tables = fmt == "table" or output is not None
    screen = out if tables else err
    if tables:
        if kept:
            title = "files scanned" if show_all else "photos of you"
            screen.print(render.results_table(kept, title))
        if errors:
            screen.print(render.errors_table(errors))
    screen.print(render.summary_line(summary), soft_wrap=True)
    if done.store_error is not None:
        err.print(
            f"[yellow]note:[/] the index could not be written ({escape(done.store_error)}), so "
            "the rest of this scan was not stored: the results above are complete; free some "
            f"space in {escape(str(data_dir()))} and the next scan stores them",
            soft_wrap=True,
        )
    left_out = render.left_out_line(done.walk)
    if left_out:
        err.print(f"[dim]{left_out}[/]", soft_wrap=True)
    for folder in done.walk.gathered:
        err.print(
            f"[yellow]note:[/] not scanned: {escape(folder)}, where an earlier --copy-to or "
            "--link-to gathered matches (name it to scan it)",
            soft_wrap=True,
        )
    if summary.total == 0 and not interrupted:
        screen.print(
            "nothing to scan: no photo, video or archive under the paths given (hidden files and "
            "other types are skipped)",
            soft_wrap=True,
        )
    if output is not None:
        screen.print(f"report written to {escape(str(output))}", soft_wrap=True)
    if organise is not None and organised is not None and summary.gathered is not None:
        done = organised
        counts = summary.gathered
        placed, linked = counts["placed"], counts["linked"]
        there, twins = counts["already_there"], counts["identical"]
        verb = "copied"
        if organise.mode == "link":  # a link needs the same file system; else it is a copy
            verb = f"placed ({linked} linked, {placed - linked} copied)"
        xmp_note = " with XMP face regions" if organise.xmp else ""
        already = ", ".join(
            ([f"{there} already there"] if there else [])
            + ([f"{twins} identical to another match"] if twins else [])
        )
        already = f" ({already})" if already else ""
        where = escape(str(organise.dest))
        screen.print(
            f"{render.plural(placed, 'matched photo')} {verb} into {where}{xmp_note}{already}",
            soft_wrap=True,
        )
        for failed in (d for d in done if d.error is not None):
            screen.print(
                f"[red]not copied:[/] {escape(failed.source)}: {escape(failed.error)}",
                soft_wrap=True,
            )
        for failed in (d for d in done if d.xmp_error is not None):
            screen.print(
                f"[red]no sidecar:[/] {escape(str(failed.dest))}: {escape(failed.xmp_error or '')}",
                soft_wrap=True,
            )
    for link, result in stale:
        sidecar = " (and its .xmp, which tags you in it)" if Path(f"{link}.xmp").exists() else ""
        now = {"no_match": "no longer shows you", "no_face": "shows no face now"}
        err.print(
            f"[yellow]note:[/] {escape(str(link))} is a hard link to {escape(result.path)}, "
            f"which {now.get(result.status, 'can no longer be read')} (it changed since it "
            f"was gathered); delete it{sidecar} if it should not be there",
            soft_wrap=True,
        )
    if interrupted:
        raise typer.Exit(interrupted_status())


def _gathered(organise: OrganiseRequest, done: list[OrganisedFile]) -> dict[str, Any]:
    """What ``--copy-to``/``--link-to`` did, for the JSON summary: the counts of each ``how``
    (``placed``: copied or linked) and, for each match, where it is in the folder now (the
    records are written before anything is placed)."""
    files = [
        {
            "path": d.source,
            "how": _how(d),
            "dest": None if d.error is not None else str(d.dest),
            "error": d.error,
        }
        for d in done
    ]
    hows = Counter(f["how"] for f in files)
    return {
        "folder": str(organise.dest),
        "placed": hows["copied"] + hows["linked"],
        "linked": hows["linked"],
        "already_there": hows["already_there"],
        "identical": hows["identical"],
        "not_placed": hows["not_placed"],
        "files": files,
    }


def _how(done: OrganisedFile) -> str:
    """``copied``, ``linked``, ``already_there``, ``identical`` or ``not_placed``."""
    if done.error is not None:
        return "not_placed"
    if done.twin:
        return "identical"
    if done.existing:
        return "already_there"
    return "linked" if done.linked else "copied"
