"""The ``selfscan`` command run in a child process, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def command(*args: str | Path) -> list[str]:
    """The command line for ``selfscan ARGS...`` with this interpreter."""
    return [sys.executable, "-m", "selfscan", *map(str, args)]


def selfscan(
    *args: str | Path,
    env: dict[str, str],
    cwd: Path | None = None,
    prefix: Sequence[str] = (),
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``selfscan ARGS...`` (after ``prefix``, e.g. ``unshare -rn``) to completion; its
    output is captured as text and its exit status is the caller's to check."""
    return subprocess.run(
        [*prefix, *command(*args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
