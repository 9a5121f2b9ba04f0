"""Terminal output with rich: progress, result tables, summaries. Rendering never computes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.markup import escape as escape_markup
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .scan import Progress as ScanProgress
from .shown import visible
from .types import FileResult, Profile, ScanSummary
from .walk import Walk


def escape(text: str) -> str:
    """``text`` as it should reach the terminal: control characters shown as ``\\xNN`` (bidi
    controls as ``\\uNNNN``) and rich markup (``[summer]``) shown as written."""
    return escape_markup(visible(text))


STYLE = {
    "match": "bold green",
    "possible": "yellow",
    "no_match": "dim",
    "no_face": "dim",
    "error": "red",
}


class _Bar(Progress):
    """Rich's progress bar, which also takes the scan's total from ``source`` at each refresh:
    the total is counted in the background and is known before the first result arrives."""

    def __init__(self, *columns: Any, source: ScanProgress | None, **options: Any) -> None:
        self.source = source
        self.scan_task: TaskID | None = None
        super().__init__(*columns, **options)

    def get_renderables(self) -> Iterator[RenderableType]:
        total = self.source.total if self.source is not None else None
        if total is not None and self.scan_task is not None:
            self.update(self.scan_task, total=total)
        yield from super().get_renderables()


@contextmanager
def scan_progress(
    console: Console, enabled: bool = True, live: ScanProgress | None = None
) -> Iterator[Any]:
    """A progress bar on ``console`` (stderr); yields the callback for ``scan``. ``live`` is the
    scan's own progress, read for the total while no result has come yet."""
    if not enabled:
        yield None
        return
    bar = _Bar(
        *_columns(console.width),
        console=console,
        transient=False,
        refresh_per_second=8,
        source=live,
    )
    task = bar.scan_task = bar.add_task(
        "scan", total=None, found=_found(0, 0), matches="", rate="", eta="ETA -:--:--"
    )

    def update(p: ScanProgress) -> None:
        now = time.monotonic()
        starting = p.analysing_since is not None and p.analysed == 0
        bar.update(
            task,
            completed=p.done,
            total=p.total,
            found=_found(p.faces, p.matches),
            matches=f"[green]{plural(p.matches, 'match', 'matches')}[/]",
            rate="starting the models"
            if starting
            else f"{p.done / max(1e-6, now - p.started):.1f} files/s",
            eta="ETA " + _clock(eta_seconds(p, now)),
        )

    with bar:
        yield update


def _columns(width: int) -> list[ProgressColumn]:
    """The bar's columns for a terminal ``width`` wide: the counts and the ETA always; the rate,
    the time spent and the bar itself as room allows (each field cut to fit reads as nothing).
    Widths are for the longest fields: "12345/45678", "98765 faces, 1234 matches", "starting the
    models", "ETA 2:38:43"."""
    counts = [MofNCompleteColumn(), TextColumn("{task.fields[found]}")]
    eta = TextColumn("{task.fields[eta]}")
    rate = TextColumn("{task.fields[rate]}")
    if width >= 110:  # the rest takes about 100 columns
        bar = BarColumn(bar_width=min(40, width - 100))
        spent = TimeElapsedColumn()
        return [SpinnerColumn(), TextColumn("[bold]scanning"), bar, *counts, rate, spent, eta]
    if width >= 78:  # counts, rate and ETA: about 70
        return [BarColumn(bar_width=min(40, width - 72)), *counts, rate, eta]
    if width >= 70:
        return [*counts, rate, eta]
    return [MofNCompleteColumn(), TextColumn("{task.fields[matches]}"), eta]


def eta_seconds(p: ScanProgress, now: float) -> float | None:
    """Seconds left: the files still to analyse at the rate files are being analysed, and the
    files the index will answer at the rate it answers (next to nothing); None while the first
    is unknown."""
    if p.total is None or p.to_analyse is None:
        return None
    new = max(0, p.to_analyse - p.analysed - p.settled)
    known = max(0, p.total - p.done - new)
    seconds = known * p.index_seconds / p.path_hits if p.path_hits else 0.0
    if new == 0:
        return seconds
    if p.analysed == 0 or p.analysing_since is None:
        return None
    return seconds + new * (now - p.analysing_since) / p.analysed


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _found(faces: int, matches: int) -> str:
    return f"{plural(faces, 'face')}, [green]{plural(matches, 'match', 'matches')}[/]"


def results_table(results: list[FileResult], title: str) -> Table:
    """Matches and possible matches: path, similarity, faces."""
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("status", no_wrap=True, min_width=8)  # "match" and "no_match" stay apart
    table.add_column("similarity", justify="right", no_wrap=True, min_width=4)
    table.add_column("faces", justify="right")
    table.add_column("path", overflow="fold", min_width=8)
    for r in results:
        table.add_row(
            f"[{STYLE[r.status]}]{r.status}[/]",
            "" if r.score is None else f"{r.score:.3f}",
            str(r.face_count),
            escape(r.path),
        )
    return table


def errors_table(results: list[FileResult], limit: int = 20) -> Table:
    """Files that could not be scanned, with the reason."""
    table = Table(title="could not scan", title_style="red")
    table.add_column("path", overflow="fold")
    table.add_column("reason", overflow="fold")
    for r in results[:limit]:
        table.add_row(escape(r.path), escape(r.error or ""))
    if len(results) > limit:
        table.add_row(f"… and {len(results) - limit} more", "see --format jsonl for all")
    return table


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def summary_line(summary: ScanSummary) -> str:
    """One line: what was scanned and what was found."""
    c = summary.counts
    parts = [
        f"[bold green]{c.get('match', 0)} match[/]",
        f"[yellow]{c.get('possible', 0)} possible[/]",
        f"{c.get('no_match', 0)} no match",
        f"{c.get('no_face', 0)} no face",
        f"[red]{c.get('error', 0)} error[/]",
    ]
    rate = summary.total / summary.seconds if summary.seconds > 0 else 0.0
    head = "interrupted: " if summary.interrupted else ""
    cached = f", {summary.cached} answered from the index" if summary.cached else ""
    if summary.copies:
        cached += f", {plural(summary.copies, 'identical copy', 'identical copies')} analysed once"
    return (
        f"{head}{plural(summary.total, 'file')} scanned in {summary.seconds:.1f} s "
        f"({rate:.1f}/s{cached}): " + ", ".join(parts)
    )


def left_out_line(walk: Walk) -> str:
    """What the walk of the folders given left out, in one line ("" when nothing was)."""
    parts = []
    if walk.hidden_files:
        many = "hidden photos, videos or archives"
        parts.append(plural(walk.hidden_files, "hidden photo, video or archive", many))
    if walk.hidden_folders:
        parts.append(plural(walk.hidden_folders, "hidden folder"))
    if walk.other:
        common = sorted(walk.other.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{escape(ext)} {n}" for ext, n in common[:4])
        more = ", …" if len(common) > 4 else ""
        parts.append(f"{plural(sum(walk.other.values()), 'file')} of other types ({kinds}{more})")
    if walk.library_copies:
        many = "copies Photos made of photos"
        copies = plural(walk.library_copies, "copy Photos made of a photo", many)
        parts.append(f"{copies} in a Photos library, read from the original or a larger copy")
    if walk.library_files:
        files = plural(walk.library_files, "file")
        parts.append(f"{files} Photos keeps for itself (its database, edit settings, caches)")
    if not parts:
        return ""
    return (
        "left out: " + "; ".join(parts) + " (names starting with '.' are hidden: name a file "
        "or folder to scan it)" * bool(walk.hidden_files or walk.hidden_folders)
    )


def profile_table(profile: Profile, where: str) -> Table:
    """The references of a profile."""
    table = Table(
        title=f"profile {escape(profile.name)} ({plural(len(profile.references), 'photo')})",
        caption=escape(where),
    )
    table.add_column("photo", overflow="fold")
    table.add_column("face box", overflow="fold")
    table.add_column("detector score", justify="right", overflow="fold")
    for r in profile.references:
        box = ", ".join(f"{v:.0f}" for v in r.box)
        table.add_row(escape(r.source), box, f"{r.det_score:.2f}")
    return table
