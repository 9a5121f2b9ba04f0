"""``python -m selfscan`` and the ``selfscan`` command.

The command's script imports only this module: worker processes, which re-run that script when
they start, then skip importing the CLI (typer, rich) they never use.
"""


def run() -> None:
    """Entry point of the ``selfscan`` command."""
    try:
        from .cli import main
    except KeyboardInterrupt:  # Ctrl-C while Python imports: before any error boundary exists
        import sys

        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
