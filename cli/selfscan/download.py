"""Fetch one file over HTTP(S): the only code in selfscan that opens a network connection.

It runs only from ``selfscan models install``, typed by the user. A download resumes a partial
file and is checked against a SHA-256 sum fixed in advance before anything uses it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import __version__
from .config import FILE_MODE
from .errors import ModelError
from .models import sha256_file

ProgressFn = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) while a download runs."""

CHUNK = 1 << 16
TIMEOUT_S = 30


def download(url: str, part: Path, sha256: str, progress: ProgressFn | None = None) -> Path:
    """Fetch ``url`` into ``part`` (mode 0600), continuing a partial file with an HTTP Range
    request and starting over when the server ignores it; then check its SHA-256. A wrong
    checksum deletes the file; an interrupted transfer keeps it for the next try."""
    # Imported here: the one place selfscan opens a connection, and only on this command.
    import http.client
    import urllib.error
    import urllib.request

    done = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": f"selfscan/{__version__}"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    host = urllib.parse.urlsplit(url).netloc
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # nothing left to send: the partial file may be whole
            return verified(part, sha256, url)
        raise ModelError(
            f"downloading {url} failed: HTTP {exc.code} {exc.reason}; try again "
            "later, or fetch it elsewhere and run 'selfscan models import ZIP'"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(
            f"cannot reach {host} ({reason}); check the network connection, or "
            f"fetch {url} on another machine and run 'selfscan models import ZIP'"
        ) from None
    with response:
        resumed = done > 0 and response.status == 206 and _range_start(response) == done
        if not resumed:
            done = 0
        length = response.headers.get("Content-Length", "")
        total = done + int(length) if length.isdigit() else None
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resumed else os.O_TRUNC)
        try:
            with os.fdopen(os.open(part, flags, FILE_MODE), "wb") as fh:
                for block in _blocks(response):
                    fh.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as exc:
            raise _interrupted(url, part, done, total, exc) from None
    if total is not None and done < total:
        raise _interrupted(url, part, done, total, "connection closed early")
    return verified(part, sha256, url)


def _blocks(response: Any) -> Iterator[bytes]:
    while block := response.read(CHUNK):
        yield block


def _range_start(response: Any) -> int | None:
    """First byte offset of a ``Content-Range: bytes START-END/TOTAL`` header."""
    value = response.headers.get("Content-Range", "")
    unit, _, rest = value.partition(" ")
    start = rest.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _interrupted(url: str, part: Path, done: int, total: int | None, why: object) -> ModelError:
    of = f" of {_mb(total)}" if total else ""
    return ModelError(
        f"the download of {url} was interrupted after {_mb(done)}{of} ({why}); "
        f"run the same command again to resume it (partial file kept at {part})"
    )


def verified(part: Path, sha256: str, url: str) -> Path:
    """``part``, when it has SHA-256 ``sha256``; otherwise it is deleted and a ``ModelError``
    says so."""
    actual = sha256_file(part)
    if actual != sha256:
        part.unlink(missing_ok=True)
        raise ModelError(
            f"the archive downloaded from {url} has the wrong SHA-256 (expected "
            f"{sha256}, got {actual}), so it was deleted; run the command again, "
            "and if it fails the same way the server is not serving the official archive"
        )
    return part
