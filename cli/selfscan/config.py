"""Settings resolved once, and the private data dir.

Precedence: command-line flag > environment (``SELFSCAN_*``) > defaults. The data dir and
everything in it are created private (directories 0700, files 0600) from the start, never
chmod-ed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from platformdirs import user_data_dir

from .errors import InputError, SelfscanError

DIR_MODE = 0o700
FILE_MODE = 0o600


def data_dir() -> Path:
    """Where selfscan keeps profiles, the index and installed models.

    ``SELFSCAN_HOME`` if set, else the platform's user data dir (``~/.local/share/selfscan`` on
    Linux).
    """
    env = os.environ.get("SELFSCAN_HOME")
    if not env:
        return Path(user_data_dir("selfscan", appauthor=False))
    # Absolute, so that the data dir does not move with the working directory.
    path = Path(os.path.abspath(expand_user(env, "SELFSCAN_HOME")))
    if path.exists() and not path.is_dir():
        raise SelfscanError(
            f"SELFSCAN_HOME={env} is not a folder: point it at a folder, or unset it"
        )
    return path


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def looks_like_url(path: Path | str) -> bool:
    """``https://…`` and the like (``Path`` turns ``//`` into ``/``); selfscan never fetches."""
    return bool(_URL.match(str(path)))


def refuse_url(text: str) -> None:
    """An ``InputError`` for a path that is a URL (``text`` as typed: ``Path`` would make
    ``https://`` into ``https:/``)."""
    if looks_like_url(text):
        raise InputError(f"{text} looks like a URL: selfscan only reads local files")


def given(raw: str, what: str) -> Path:
    """A path typed on the command line: ``~`` expanded (the shell does not expand it after
    ``--opt=`` or in quotes), and an empty one refused (``Path("")`` is the current folder, so
    an unset shell variable would quietly mean "here")."""
    if not raw:
        raise InputError(f"empty path given for {what} (an unset shell variable?)")
    refuse_url(raw)
    return expand_user(raw, what) if raw.startswith("~") else Path(raw)


def expand_user(raw: str, what: str) -> Path:
    """``raw`` with a leading ``~`` or ``~user`` expanded; an ``InputError`` for a user this
    system does not know (Python raises a bare RuntimeError)."""
    try:
        return Path(raw).expanduser()
    except RuntimeError:
        user = raw[1:].split("/", 1)[0]
        raise InputError(
            f"{what} {raw}: no user {user!r} on this system to expand '~{user}' for"
        ) from None


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents inside it) with mode 0700; return it."""
    if not path.is_dir():
        old = os.umask(0o077)
        try:
            path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except FileExistsError:  # a file where the folder goes
            raise SelfscanError(
                f"{path} is a file where selfscan keeps a folder: move it out of the way"
            ) from None
        except OSError as exc:
            raise SelfscanError(f"cannot create data dir {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
    return path


def ensure_data_dir() -> Path:
    """The data dir, created private if missing."""
    return ensure_private_dir(data_dir())


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside this block (by us or by SQLite) get mode 0600."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_private(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path`` with mode 0600 (temp file + rename)."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def loose_permissions(root: Path) -> list[str]:
    """Paths under ``root`` that group or others can read or write (for ``doctor``)."""
    problems: list[str] = []
    if not root.exists():
        return problems
    for path in [root, *root.rglob("*")]:
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode):
            continue
        if mode & 0o077:
            problems.append(f"{path} is {stat.filemode(mode)}")
    return problems


def env_int(name: str, default: int | None = None) -> int | None:
    """An integer from ``SELFSCAN_<name>``, or ``default``."""
    value = os.environ.get(f"SELFSCAN_{name}")
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SelfscanError(f"SELFSCAN_{name} must be an integer, not {value!r}") from None


def env_str(name: str, default: str | None = None) -> str | None:
    """A string from ``SELFSCAN_<name>``, or ``default``."""
    return os.environ.get(f"SELFSCAN_{name}") or default
