"""The command line's one error boundary: library errors (``SelfscanError``) become one red
line and exit status 1, anything unexpected one line too (a traceback only with
SELFSCAN_DEBUG=1), a closed pipe status 141; no traceback reaches the user. Ctrl-C, SIGTERM and
SIGHUP (a closed terminal) all stop a scan the same way, keeping what was done, with status 128 +
the signal's number (130, 143, 129).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup
from typer.exceptions import TyperException

from .errors import OutputError, SelfscanError
from .index import index_path
from .index_rows import store_problem
from .render import escape

MIN_COLUMNS = 20


def _sane_columns() -> None:
    # rich takes COLUMNS as the width: 0 printed nothing at all, 1 a character a line.
    value = os.environ.get("COLUMNS")
    if value is not None and not (value.isdigit() and int(value) >= MIN_COLUMNS):
        del os.environ["COLUMNS"]


_sane_columns()
err = Console(stderr=True, emoji=False)  # printing an error imports nothing more


class Boundary(TyperGroup):
    """The single error boundary: library errors become one red line and exit status 1; an
    unexpected exception is one line too (its traceback only with SELFSCAN_DEBUG=1)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SelfscanError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except sqlite3.DatabaseError as exc:  # the index failing in the middle of a command
            message = escape(str(store_problem(index_path(), exc)))
            err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:
            quiet_stdout()
            raise typer.Exit(PIPE_CLOSED) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(interrupted_status()) from None
        except Exception as exc:
            if _signalled[0]:
                # Ctrl-C in the middle of importing onnxruntime surfaces as its ImportError
                # ("initialization failed"): what happened is the interrupt.
                err.print("interrupted")
                raise typer.Exit(interrupted_status()) from None
            if os.environ.get("SELFSCAN_DEBUG"):
                raise
            err.print(
                f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (set "
                "SELFSCAN_DEBUG=1 for details and please report it)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(70) from None


# The reader went away (``selfscan find ... | head``): selfscan stops quietly with the status of
# a pipe writer killed by SIGPIPE.
PIPE_CLOSED = 141


def quiet_stdout() -> None:
    """Point stdout at the null device, so that Python does not complain about the closed pipe
    when it flushes stdout on exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _broken_pipe(console: Console) -> NoReturn:
    # rich's own handling exits with status 1, which scripts read as a failure.
    raise BrokenPipeError


# The signal that stopped the command; Ctrl-C unless another arrived. And whether one did.
_stopped_by = [int(signal.SIGINT)]
_signalled = [False]


def _stop(signum: int, frame: Any) -> None:
    _stopped_by[0] = signum
    _signalled[0] = True
    raise KeyboardInterrupt


def ignore_signals() -> None:
    """From now on Ctrl-C, SIGTERM and SIGHUP are ignored: the command is already stopping and
    has its summary and report to finish."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def interrupted_status() -> int:
    """The exit status of a command stopped by a signal: 128 + its number."""
    return 128 + _stopped_by[0]


def is_stdout(path: Path) -> bool:
    """Whether ``path`` is where standard output goes (``/dev/stdout``, ``/dev/fd/1``, or the
    file stdout was redirected to)."""
    try:
        target, ours = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (target.st_dev, target.st_ino) == (ours.st_dev, ours.st_ino)


_closed: list[bool] = []  # standard output was closed when selfscan started


def stdout_closed() -> bool:
    """Whether selfscan was started with its standard output closed (``>&-``)."""
    return bool(_closed) or sys.stdout is None


def utf8_stdout() -> None:
    """Standard output in UTF-8 whatever the locale says: records (JSON, CSV) are UTF-8, and
    under a latin-1 or ASCII locale a name in another script stopped them half-written."""
    with contextlib.suppress(AttributeError, ValueError, OSError):  # a test's capture: any text
        sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")  # type: ignore[union-attr]


class _Stdout:
    """Standard output, whose write failures (a full disk, a device error) are one
    ``OutputError`` instead of an internal error or, in help, a traceback; a closed pipe stays a
    ``BrokenPipeError``. Everything else is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._guarded(self._stream.write, text))

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    @staticmethod
    def _guarded(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def run(app: typer.Typer) -> None:
    """Run the command line. SIGTERM and SIGHUP stop it as Ctrl-C does (a scan's workers are
    shut down and its work kept, instead of the process dying on the spot), unless they were
    ignored when it started (``nohup``). Every console,
    typer's help included, turns a closed pipe into a ``BrokenPipeError``, handled in
    ``Boundary`` inside a command and here outside one (help, usage errors)."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        # A signal ignored by whoever started selfscan stays ignored: 'nohup selfscan find'
        # must outlive the terminal it was started from.
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            signal.signal(getattr(signal, name), _stop)
    Console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]
    if sys.stdout is None:  # closed by the caller (>&-): tables go nowhere, records refused
        _closed.append(True)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = _Stdout(sys.stdout)  # type: ignore[assignment]
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # here, where a failure can still be reported
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(PIPE_CLOSED)
    except OutputError as exc:  # outside a command: help or a usage message
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        quiet_stdout()
        sys.exit(1)
    except KeyboardInterrupt:  # outside a command: while the command line is being read
        err.print("interrupted")
        sys.exit(interrupted_status())
