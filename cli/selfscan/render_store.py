"""Terminal output for what selfscan stores and how it is installed: data, forget, doctor."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.table import Table

from .render import escape, plural


def doctor_report(console: Console, info: dict[str, Any]) -> None:
    """The doctor's findings."""
    table = Table(title="selfscan doctor", show_header=False)
    table.add_column("what", overflow="fold")
    table.add_column("value", overflow="fold")
    for name, version in info["versions"].items():
        table.add_row(name, version or "[dim]not installed[/]")
    table.add_row("platform", escape(info["platform"]))
    table.add_row("providers", ", ".join(info["providers"]))
    table.add_row("cuda", escape(info["cuda"]))
    table.add_row("formats", ", ".join(info["formats"]))
    table.add_row(
        "data dir",
        escape(info["data_dir"]) + ("" if info["data_dir_exists"] else " (not yet created)"),
    )
    table.add_row("active model", escape(info["active_model"]))
    for pack in info["packs"]:
        status = {
            "ok": "[green]ok[/]",
            "mismatch": "[red]checksum mismatch (corrupt or modified)[/]",
        }.get(pack["checksums"], "[dim]not installed[/]")
        files = "\n".join(f"{n} sha256 {h[:16]}…" for n, h in pack["files"].items())
        where = pack["directory"] or ""
        bad = "".join(f"\n[red]{escape(m)}[/]" for m in pack.get("mismatches", []))
        if bad and pack["checksums"] == "ok":
            bad += (
                "\n[dim](ignored: the copy above is used; 'selfscan forget --models' removes "
                "the damaged one from the data dir)[/]"
            )
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
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} MB"
    return f"{n / 1e3:.1f} kB" if n >= 1_000 else f"{n} B"


def _photo_lines(photos: list[str], missing: list[str]) -> list[str]:
    """A profile's reference photos as ``data`` lists them: by file name, or by path where two
    share a name (``forget --photo`` needs the path then), and saying which are gone."""
    names = [os.path.basename(s) for s in photos]
    lines = []
    for source, name in zip(photos, names, strict=True):
        line = source if names.count(name) > 1 else name
        if source in missing:
            line += " (no longer there: moved or deleted; its face stays in the profile)"
        lines.append(line)
    return lines


def data_report(console: Console, info: dict[str, Any]) -> None:
    """What is stored, where, and how big."""
    console.print(
        f"data dir: {escape(info['data_dir'])}" + ("" if info["exists"] else " (nothing stored)")
    )
    table = Table(title="stored by selfscan")
    table.add_column("what", overflow="fold")
    table.add_column("contents", overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("path", overflow="fold")
    for p in info["profiles"]:
        contents = (
            "left by an interrupted save of a profile (may hold embeddings)"
            if p.get("leftover")
            else f"{plural(p['embeddings'], 'reference embedding')} ({escape(p['model_id'])})"
            + "".join(
                f"\n  {escape(line)}"
                for line in _photo_lines(p.get("photos", []), p.get("missing_photos", []))
            )
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
            f"{plural(ix['files'] or 0, 'file')} indexed, {plural(ix['faces'] or 0, 'face')}, "
            f"{plural(ix['embeddings'] or 0, 'embedding')}"
            + (
                f"; {ix['missing']} no longer exist (forget them with --missing)"
                if ix.get("missing")
                else ""
            ),
            _mb(ix["bytes"]),
            escape(ix["path"]),
        )
    what = {
        "pack": "weights (not personal data)",
        "choice": "which pack to use ('selfscan models use')",
        "leftover": "left by an interrupted import or install",
        "partial": "partial download, kept to resume 'models install'",
    }
    for m in info["models"]:
        name = "model pack choice" if m["kind"] == "choice" else f"model pack {escape(m['name'])}"
        table.add_row(name, what[m["kind"]], _mb(m["bytes"]), escape(m["path"]))
    if table.row_count:
        console.print(table)
        personal = info["profiles"] or ix["exists"] or ix.get("problem")
        hint = "erase with 'selfscan forget --all'" if personal else "no personal data"
        if info["models"]:
            hint += (
                " (and the model packs with --models)"
                if personal
                else "; 'selfscan forget --all --models' removes the rest"
            )
        console.print(f"total {_mb(info['total_bytes'])}; {hint}")
    elif info["exists"]:
        console.print("nothing is stored: no profile, no index, no model pack")
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
        if r.absent:
            console.print(f"nothing to forget: {escape(r.what)}", soft_wrap=True)
        elif r.count is not None:
            where = f": {escape(r.path)}" if r.path else ""
            what = r.one if r.count == 1 and r.one else r.what
            console.print(f"[green]forgot[/] {r.count} {escape(what)}{where}", soft_wrap=True)
            if r.count == 0 and r.path and not os.path.lexists(r.path):
                console.print(f"({escape(r.path)} does not exist; 'selfscan data' lists the index)")
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
