"""The ``selfscan`` command: parse options, call one library function, render the result.

Errors are caught in one place, ``cli_boundary``, and printed as one line; no traceback reaches
the user.
"""

from __future__ import annotations

import codecs
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import __version__, cli_store, ops, render
from .cli_boundary import Boundary, err, is_stdout
from .cli_boundary import run as run_app
from .cli_models import app as models_app
from .cli_run import run_find
from .config import given
from .errors import InputError
from .reports import FORMATS, format_for
from .workers import check_address_space

app = typer.Typer(
    name="selfscan",
    cls=Boundary,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(models_app, name="models")
out = Console(emoji=False)  # (no :codes: in our text; and no late import at an error)


def _version(value: bool) -> None:
    if value:
        out.print(f"selfscan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Find every photo of you in your own files, offline. Nothing leaves your machine and your
    photos are never modified.

    Enroll a few photos of your face, then point selfscan at folders and data exports.

    [bold]Examples[/]

      selfscan enroll me1.jpg me2.jpg

      selfscan find ~/Pictures ~/Downloads/takeout-001.zip

      selfscan find --me me.jpg ~/Pictures --format jsonl -o found.jsonl
    """


@app.command()
def enroll(
    photos: Annotated[
        list[str], typer.Argument(help="Photos of your face, one face each.", metavar="PHOTO...")
    ],
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name.")] = "me",
    device: Annotated[
        str, typer.Option(help="auto (CUDA when onnxruntime-gpu sees a GPU, else CPU), cpu, cuda.")
    ] = "auto",
    allow_unlike: Annotated[
        bool,
        typer.Option(
            "--allow-unlike",
            help="Add a photo even though it does not look like the profile's other photos "
            "(you, years apart); refused otherwise.",
        ),
    ] = False,
) -> None:
    """Build or extend a profile from photos of yourself.

    Each photo must show one clear face at least 80 px tall (the largest
    face is used when it clearly dominates). The profile is stored
    privately in the data dir.

    [bold]Example[/]: selfscan enroll me-2023.jpg me-passport.png --profile me
    """
    check_address_space()  # before any model's library is imported
    files = [given(p, "a photo") for p in photos]
    done = ops.enroll(files, profile, device, allow_unlike)
    saved, already = done.profile, done.already
    out.print(render.profile_table(saved, str(done.path)))
    for note in done.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    count = len(saved.references)
    said = [f"{already} already in it, renewed"] if already else []
    if done.repeats:
        said.append(f"{done.repeats} the same as a photo in it, not added")
    added = len({p.resolve() for p in files}) - done.repeats
    detail = f" ({'; '.join(said)})" if said else ""
    out.print(
        f"[green]enrolled[/] {render.plural(added, 'photo')} into profile {saved.name!r}"
        f"{detail}, which now has {render.plural(count, 'reference photo')}",
        soft_wrap=True,
    )


@app.command()
def find(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders or archives to scan.", metavar="PATH...")
    ],
    me: Annotated[
        list[str] | None,
        typer.Option(
            "--me",
            help="A photo of you (repeatable), instead of a stored profile; it is not stored "
            "(the index is, unless --no-store).",
        ),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            help="Saved profile to use. With --me, the name of the person in those photos: "
            "the name in the report and XMP sidecars, and the profile --save-profile stores.",
        ),
    ] = "me",
    save_profile: Annotated[
        bool, typer.Option("--save-profile", help="Store the --me photos as the profile.")
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="table, jsonl, json, csv or html (default: the table, or what -o FILE's "
            "extension names).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write the report to this file ('-': stdout)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Match threshold on the similarity, above 0 and below 1: higher is stricter "
            "(default: the model's calibrated one, 0.40 for buffalo_s)."
        ),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Large faces only; fastest.")] = False,
    thorough: Annotated[
        bool, typer.Option("--thorough", help="Smallest faces too; slowest.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: one per core, fewer if memory is short)."),
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto (CUDA when onnxruntime-gpu sees a GPU, else CPU), cpu, cuda.")
    ] = "auto",
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Keep nothing on disk: no index, no profile.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every file in the table, not only matches.")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    copy_to: Annotated[
        str | None, typer.Option("--copy-to", help="Copy matched photos into this folder.")
    ] = None,
    link_to: Annotated[
        str | None,
        typer.Option("--link-to", help="Hard-link matched photos into this folder (else copy)."),
    ] = None,
    xmp: Annotated[
        bool, typer.Option("--xmp", help="Write an XMP face-region sidecar beside each copy.")
    ] = False,
) -> None:
    """Scan files, folders and archives for photos of you.

    Each file gets one status: match, possible (just below the threshold:
    review it), no_match, no_face or error. The exit status is 0 whenever
    the scan ran, unreadable files included.

    [bold]Examples[/]

      selfscan find ~/Pictures

      selfscan find --me me.jpg ~/Pictures --format jsonl -o found.jsonl

      selfscan find ~/Pictures --threshold 0.4 --format csv > found.csv

      selfscan find takeout-001.zip takeout-002.zip --format html -o report.html

      selfscan find ~/Pictures --copy-to ~/Pictures/me --xmp

      selfscan find ~/Library/Application\\ Support/MobileSync/Backup -o phone.html

      selfscan find ~/Pictures/Photos\\ Library.photoslibrary -o library.html
    """
    check_address_space()  # before any model's library is imported
    fmt = fmt or format_for(output)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    targets = [given(p, "a path to scan") for p in paths]
    mine = [given(p, "--me") for p in me or []]
    if output is not None and output != "-" and output.endswith(("/", os.sep)):
        folder = output.rstrip("/" + os.sep) or output
        raise InputError(f"-o {output} is a folder's name: give a file, -o {folder}/report.{fmt}")
    report = None if output is None or output == "-" else given(output, "-o")
    if report is not None and is_stdout(report):  # -o /dev/stdout: records only, as with -o -
        report = None
    copy_dest = None if copy_to is None else given(copy_to, "--copy-to")
    link_dest = None if link_to is None else given(link_to, "--link-to")
    if quick and thorough:
        raise InputError("--quick and --thorough exclude each other")
    if save_profile and not me:
        raise InputError("--save-profile stores the --me photos as a profile: add --me PHOTO")
    if save_profile and no_store:
        raise InputError("--save-profile stores a profile and --no-store keeps nothing: use one")
    if copy_dest is not None and link_dest is not None:
        raise InputError("--copy-to and --link-to exclude each other")
    if xmp and copy_dest is None and link_dest is None:
        raise InputError("--xmp writes sidecars beside copies: add --copy-to DIR or --link-to DIR")
    if fmt == "html" and output is None:
        raise InputError("--format html needs -o FILE (or -o - for standard output)")
    if fmt == "table" and output is not None:
        named = "" if output == "-" else " (or name the file so: report.html, found.jsonl, …)"
        raise InputError(
            f"the table is for the terminal: use -f jsonl, json, csv or html with -o{named}"
        )
    request = ops.FindRequest(
        paths=targets,
        me=mine,
        profile=profile,
        save_profile=save_profile,
        threshold=threshold,
        mode="quick" if quick else "thorough" if thorough else "default",
        workers=workers,
        device=device,
        store=not no_store,
    )
    organise = None
    if copy_dest is not None or link_dest is not None:
        organise = ops.OrganiseRequest(
            dest=copy_dest or link_dest,  # type: ignore[arg-type]
            mode="copy" if copy_dest is not None else "link",
            xmp=xmp,
        )
        ops.prepare_destination(organise, targets)
        # Copies made last time inside a scanned folder are not new photos of you.
        request.skip.append(organise.dest)
    run_find(out, err, request, fmt, report, show_all, not no_progress, organise)


@app.command()
def demo(
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Show selfscan working on the sample photos shipped with its models, offline.

    Enrolls yaoming.jpg as "me" (nothing is stored), scans the packaged
    sample photos and finds him in the team photo players.jpg and nowhere
    else.

    [bold]Example[/]: selfscan demo
    """
    check_address_space()  # before any model's library is imported
    if workers is not None and workers < 1:  # said before the demo starts, not after
        raise InputError("--workers must be at least 1")
    with ops.demo_tempdir() as tmp:
        demo_files = ops.demo_library(Path(tmp))
        out.print(
            f"enrolling [bold]{demo_files['me'].name}[/] as 'me'; scanning "
            f"{len(list(demo_files['library'].iterdir()))} sample photos"
        )
        request = ops.FindRequest(
            paths=[demo_files["library"]],
            me=[demo_files["me"]],
            store=False,
            workers=workers if workers is not None else 1,
        )
        run_find(out, err, request, "table", None, show_all=True, progress=False)


# What is stored and how it is installed: cli_store.
app.command()(cli_store.data)
app.command()(cli_store.forget)
app.command()(cli_store.doctor)


def main() -> None:
    """Entry point of the ``selfscan`` command."""
    # File names need not be UTF-8: print their bytes as they are rather than fail. A terminal
    # that takes less than Unicode (a latin-1 locale) gets escapes for what it cannot show.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            utf8 = codecs.lookup(stream.encoding or "ascii").name == "utf-8"
            stream.reconfigure(errors="surrogateescape" if utf8 else "backslashreplace")
    run_app(app)
