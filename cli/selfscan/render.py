"""Terminal output with rich: progress, result tables, summaries. Rendering never computes."""

from __future__ import annotations

import re
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
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .scan import Progress as ScanProgress
from .types import FileResult, Profile, ScanSummary

# C0 and C1 control characters and DEL: a file name may hold them, and printed as they are they
# would move the cursor, recolour or retitle the terminal.
# Control characters, and the invisible bidirectional controls that reorder what follows them on
# screen (U+202E shows "gpj.exe" as "exe.jpg").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """``text`` as it should reach the terminal: control characters shown as ``\\xNN`` (bidi
    controls as ``\\uNNNN``) and rich markup (``[summer]``) shown as written."""
    return escape_markup(_CONTROL.sub(_shown, text))


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
        SpinnerColumn(),
        TextColumn("[bold]scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[faces]} faces, [green]{task.fields[matches]} matches"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        refresh_per_second=8,
        source=live,
    )
    task = bar.scan_task = bar.add_task("scan", total=None, faces=0, matches=0, rate="")

    def update(p: ScanProgress) -> None:
        elapsed = max(1e-6, time.monotonic() - p.started)
        bar.update(
            task,
            completed=p.done,
            total=p.total,
            faces=p.faces,
            matches=p.matches,
            rate=f"{p.done / elapsed:.1f} files/s",
        )

    with bar:
        yield update


def results_table(results: list[FileResult], title: str) -> Table:
    """Matches and possible matches: path, similarity, faces."""
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("status", no_wrap=True, min_width=8)  # "match" and "no_match" stay apart
    table.add_column("similarity", justify="right")
    table.add_column("faces", justify="right")
    table.add_column("path", overflow="fold")
    for r in results:
        table.add_row(
            f"[{STYLE[r.status]}]{r.status}[/]",
            "" if r.score is None else f"{r.score:.3f}",
            str(len(r.faces)),
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
    cached = f", {summary.cached} unchanged from the index" if summary.cached else ""
    return (
        f"{head}{plural(summary.total, 'file')} scanned in {summary.seconds:.1f} s "
        f"({rate:.1f}/s{cached}): " + ", ".join(parts)
    )


def profile_table(profile: Profile, where: str) -> Table:
    """The references of a profile."""
    table = Table(
        title=f"profile {escape(profile.name)} ({plural(len(profile.references), 'photo')})",
        caption=escape(where),
    )
    table.add_column("photo", overflow="fold")
    table.add_column("face box")
    table.add_column("detector score", justify="right")
    for r in profile.references:
        box = ", ".join(f"{v:.0f}" for v in r.box)
        table.add_row(escape(r.source), box, f"{r.det_score:.2f}")
    return table


def doctor_report(console: Console, info: dict[str, Any]) -> None:
    """The doctor's findings."""
    table = Table(title="selfscan doctor", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for name, version in info["versions"].items():
        table.add_row(name, version or "[dim]not installed[/]")
    table.add_row("platform", info["platform"])
    table.add_row("providers", ", ".join(info["providers"]))
    table.add_row("formats", ", ".join(info["formats"]))
    table.add_row(
        "data dir", info["data_dir"] + ("" if info["data_dir_exists"] else " (not yet created)")
    )
    table.add_row("active model", info["active_model"])
    for pack in info["packs"]:
        status = {
            "ok": "[green]ok[/]",
            "mismatch": "[red]checksum mismatch (corrupt or modified)[/]",
        }.get(pack["checksums"], "[dim]not installed[/]")
        files = "\n".join(f"{n} sha256 {h[:16]}…" for n, h in pack["files"].items())
        where = pack["directory"] or ""
        bad = "".join(f"\n[red]{escape(m)}[/]" for m in pack.get("mismatches", []))
        table.add_row(f"pack {pack['name']}", f"{status} {escape(where)}\n{files}{bad}")
    table.add_row("licence", info["licence"])
    console.print(table)
    problems = info["permission_problems"]
    if problems:
        console.print(
            f"[yellow]warning:[/] {plural(len(problems), 'path')} in the data dir "
            f"{'is' if len(problems) == 1 else 'are'} open to others:"
        )
        for p in problems[:10]:
            console.print(f"  {escape(p)}")
        console.print("fix with: chmod -R go-rwx " + escape(info["data_dir"]))
    elif not info["data_dir_exists"]:
        console.print("data dir not created yet: nothing is stored")
    else:
        console.print("[green]data dir permissions ok[/] (private to you)")
    for problem in info.get("problems", []):
        console.print(f"[red]problem:[/] {escape(problem)}", soft_wrap=True)
    if not info.get("problems"):
        console.print("[green]ready[/]: selfscan can scan with the active model")


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n} B"


def data_report(console: Console, info: dict[str, Any]) -> None:
    """What is stored, where, and how big."""
    console.print(
        f"data dir: {escape(info['data_dir'])}" + ("" if info["exists"] else " (nothing stored)")
    )
    table = Table(title="stored by selfscan")
    table.add_column("what")
    table.add_column("contents")
    table.add_column("size", justify="right")
    table.add_column("path", overflow="fold")
    for p in info["profiles"]:
        contents = (
            "left by an interrupted save of a profile (may hold embeddings)"
            if p.get("leftover")
            else f"{plural(p['embeddings'], 'reference embedding')} ({escape(p['model_id'])})"
        )
        table.add_row(f"profile {escape(p['name'])}", contents, _mb(p["bytes"]), escape(p["path"]))
    ix = info["index"]
    if ix.get("problem"):
        table.add_row(
            "index", f"[red]{escape(ix['problem'])}[/]", _mb(ix["bytes"]), escape(ix["path"])
        )
    elif ix["exists"]:
        table.add_row(
            "index",
            f"{plural(ix.get('files', 0), 'file')} indexed, {plural(ix.get('faces', 0), 'face')}, "
            f"{plural(ix.get('embeddings', 0), 'embedding')}"
            + (
                f"; {ix['missing']} no longer exist (forget them with --missing)"
                if ix.get("missing")
                else ""
            ),
            _mb(ix["bytes"]),
            escape(ix["path"]),
        )
    for m in info["models"]:
        table.add_row(
            f"model pack {escape(m['name'])}",
            "weights (not personal data)",
            _mb(m["bytes"]),
            escape(m["path"]),
        )
    console.print(table)
    hint = "erase with 'selfscan forget --all'"
    if info["models"]:
        hint += " (and the model packs with --models)"
    console.print(f"total {_mb(info['total_bytes'])}; {hint}")
    if info["others"]["files"]:
        console.print(
            f"also in the data dir: {plural(info['others']['files'], 'file')} selfscan did not "
            f"make ({_mb(info['others']['bytes'])}), never listed as its data nor deleted by "
            "forget:"
        )
        _some_paths(console, info["others"].get("paths", []))


def forget_report(console: Console, removed: list[Any]) -> None:
    """What ``forget`` deleted."""
    if not removed:
        console.print("nothing to forget: no such data is stored")
        return
    for r in removed:
        if r.count is not None:
            where = f" {escape(r.path)}" if r.path else ""
            what = r.one if r.count == 1 and r.one else r.what
            console.print(f"[green]forgot[/] {r.count} {escape(what)}{where}", soft_wrap=True)
        else:
            console.print(f"[green]removed[/] {escape(r.what)}: {escape(r.path)} ({_mb(r.size)})")


def others_note(console: Console, others: list[Any], home: str) -> None:
    """The files ``forget`` left because selfscan did not make them."""
    if others:
        console.print(
            f"left alone: {plural(len(others), 'file')} in {escape(home)} that selfscan did not "
            "make:"
        )
        _some_paths(console, [str(p) for p in others])


def _some_paths(console: Console, paths: list[str], limit: int = 5) -> None:
    for path in paths[:limit]:
        console.print(f"  {escape(path)}", soft_wrap=True)
    if len(paths) > limit:
        console.print(f"  … and {len(paths) - limit} more")
