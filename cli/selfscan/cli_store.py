"""The commands about what selfscan stores and how it is installed: ``data``, ``forget``,
``doctor``. Thin, like the rest of the CLI: parse, call the library, render."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from . import doctor as checkup
from . import erase, render_store, store
from .config import data_dir, given
from .errors import InputError

out = Console(emoji=False)  # (no :codes: in our text; and no late import at an error)


def data(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List what selfscan stores about you: profiles, the index, model packs, and their sizes.

    [bold]Example[/]: selfscan data
    """
    info = store.inventory()
    if as_json:
        typer.echo(store.to_json(info))  # ASCII: names' odd bytes as \udcXX, never colour
    else:
        render_store.data_report(out, info)


def forget(
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Delete this profile.")
    ] = None,
    index: Annotated[
        bool, typer.Option("--index", help="Delete the index (cached faces and embeddings).")
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Delete all personal data: profiles and index.")
    ] = False,
    models: Annotated[
        bool, typer.Option("--models", help="Also delete installed model packs.")
    ] = False,
    paths: Annotated[
        list[str] | None,
        typer.Option("--path", help="Forget what the index holds on files under this path."),
    ] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="Forget indexed files that no longer exist.")
    ] = False,
    photos: Annotated[
        list[str] | None,
        typer.Option(
            "--photo",
            help="Remove this reference photo (path or file name) from the profile (--profile, "
            "default me); 'selfscan data' lists them.",
        ),
    ] = None,
) -> None:
    """Delete what selfscan stored, and say what was removed.

    The exit status is 0 when what was named is gone, also when it was
    not stored (forgetting twice is fine), and 1 when something could not
    be deleted or the request is unclear.

    [bold]Examples[/]

      selfscan forget --profile me

      selfscan forget --photo not-me.jpg

      selfscan forget --path ~/Pictures/old-phone --missing

      selfscan forget --all
    """
    if profile is None and not (index or everything or models or paths or missing or photos):
        raise InputError(
            "say what to forget: --profile NAME, --photo PHOTO, --path PATH, --missing, "
            "--index, --all (or --models)"
        )
    if photos and (everything or index):
        raise InputError("--photo removes one photo from a profile: not with --all or --index")
    removed = erase.forget(
        profile,
        index,
        everything,
        models,
        [str(given(p, "--path")) for p in paths or []],
        missing,
        [str(given(p, "--photo")) for p in photos or []],
    )
    render_store.forget_report(out, removed)
    if everything:
        render_store.others_note(out, store.others(), str(data_dir()))
        if not models and (data_dir() / "models").exists():
            out.print(
                "kept: the model packs and the choice of pack (not personal data); "
                "'selfscan forget --all --models' removes them too",
                soft_wrap=True,
            )


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check the installation: versions, model files and checksums, providers, formats, data dir.

    The exit status is 1 when something stops selfscan from working (the
    active model pack missing or corrupt, a damaged index), else 0.

    [bold]Examples[/]

      selfscan doctor

      selfscan doctor --json && selfscan find ~/Pictures
    """
    info = checkup.diagnose()
    if as_json:
        typer.echo(store.to_json(info))  # ASCII: names' odd bytes as \udcXX, never colour
    else:
        render_store.doctor_report(out, info)
    if info["problems"]:
        raise typer.Exit(1)
