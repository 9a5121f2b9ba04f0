"""``selfscan models``: list, install, import and choose face model packs.

Thin: each command parses its options, calls one function of :mod:`selfscan.packs` and renders
the result. Errors are ``SelfscanError``s that the main CLI prints in one place.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from . import packs
from .config import given
from .models import PACKS, active_pack_name, active_pack_source
from .render import escape

app = typer.Typer(
    help="List, install, import and choose the face model packs.\n\n"
    "[bold]Examples[/]: selfscan models list · selfscan models install buffalo_l · "
    "selfscan models use buffalo_l",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

STATUS_STYLE = {"ok": "green", "mismatch": "red", "missing": "yellow"}


def _out() -> Console:
    return Console(highlight=False, emoji=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


@app.command("list")
def list_cmd(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
    ] = False,
) -> None:
    """Show the known model packs: where they are, checksum status, which one is in use.

    [bold]Examples[/]

      selfscan models list

      selfscan models list --json
    """
    infos = packs.list_packs()
    if as_json:
        payload = {
            "active": active_pack_name(),
            "active_source": active_pack_source(),
            "packs": [info.to_json() for info in infos],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    out = _out()
    table = Table(title="model packs")
    for column in ("pack", "in use", "file", "size", "checksum"):
        table.add_column(column, overflow="fold")
    for info in infos:
        state = "" if info.installed else " [yellow](not installed)[/]"
        for i, f in enumerate(info.files):
            table.add_row(
                f"[bold]{info.name}[/]{state}" if i == 0 else "",
                ("yes" if info.active else "") if i == 0 else "",
                f.name,
                _size(f.size),
                f"[{STATUS_STYLE[f.status]}]{f.status}[/]",
            )
        table.add_section()
    out.print(table)
    for info in infos:
        out.print(f"[bold]{info.name}[/]: {escape(info.description)}")
        out.print(f"  location: {escape(str(info.directory))}")
        out.print(f"  licence: {escape(info.licence)}")
        if not info.installed:
            out.print(f"  to get it: {escape(packs.how_to_get(info.name))}")
        for note in info.notes:
            out.print(f"  [red]warning:[/] {escape(note)}")
    if active_pack_source() == "env":
        out.print(f"SELFSCAN_MODEL={escape(os.environ.get('SELFSCAN_MODEL', ''))} sets the pack")


@contextlib.contextmanager
def _progress_bar(label: str) -> Iterator[packs.ProgressFn]:
    """A rich download bar on stderr, as a ``ProgressFn``; it appears with the first bytes."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_err(),
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int | None) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


@app.command()
def install(
    name: Annotated[str, typer.Argument(help="Pack to install, e.g. buffalo_l.")],
    url: Annotated[
        str | None,
        typer.Option(
            help="Fetch the archive from this URL (a mirror or a local test server) instead "
            "of the official release; the fixed SHA-256 sums are checked all the same.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even if the pack is present.")
    ] = False,
) -> None:
    """Download, verify and install a model pack (selfscan's only network access; resumable).

    [bold]Example[/]: selfscan models install buffalo_l
    """
    spec = packs.known_spec(name)
    err = _err()
    err.print(f"[bold]{name}[/] licence: {escape(spec.licence)}")
    with _progress_bar(f"downloading {name}") as progress:
        result = packs.install(name, url=url, force=force, progress=progress)
    out = _out()
    where = escape(str(result.pack.directory))
    if result.downloaded:
        out.print(f"[green]installed[/] {name} in {where}")
    else:
        out.print(f"{name} is already installed and verified in {where}")
    if active_pack_name() != name:
        out.print(f"use it with: selfscan models use {name}")


@app.command("import")
def import_cmd(
    source: Annotated[
        str,
        typer.Argument(
            help="The pack's release zip, a zip of its folder, or a folder holding its files."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Pack name; recognised from the file names when left out."),
    ] = None,
) -> None:
    """Install a model pack from a local zip or folder, verified like install (for offline use).

    [bold]Examples[/]

      selfscan models import ~/Downloads/buffalo_l.zip

      selfscan models import ~/.insightface/models/buffalo_l --name buffalo_l
    """
    spec = packs.known_spec(name) if name else None
    pack = packs.import_pack(given(source, "the pack to import"), spec)
    out = _out()
    out.print(f"[green]imported[/] {pack.name} into {escape(str(pack.directory))}")
    out.print(f"licence: {escape(PACKS[pack.name].licence)}")
    if active_pack_name() != pack.name:
        out.print(f"use it with: selfscan models use {pack.name}")


@app.command()
def use(name: Annotated[str, typer.Argument(help="Pack to use for scans and profiles.")]) -> None:
    """Choose the model pack used from now on (SELFSCAN_MODEL overrides it).

    [bold]Example[/]: selfscan models use buffalo_l
    """
    pack = packs.use_pack(name)
    out = _out()
    out.print(f"now using {pack.name} ({escape(str(pack.directory))})")
    if active_pack_source() == "env" and active_pack_name() != name:
        out.print(
            f"[yellow]note:[/] SELFSCAN_MODEL={escape(active_pack_name())} is set and "
            "overrides this choice"
        )
