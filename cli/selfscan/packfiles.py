"""Verified copying of a model pack's files into place, for ``models install`` and ``import``.

Each weight file is streamed from a zip member or a local file into a new 0600 file, its
SHA-256 checked as it goes and its size capped, inside a private temp dir that is renamed to the
pack's folder only once every file has verified. Nothing here opens a network connection: an
install's archive is fetched by :mod:`selfscan.download` first, and this reads it from disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .config import FILE_MODE, private_umask
from .errors import ModelError
from .models import ModelPack, PackSpec

# Far above any real weight file; stops a hostile zip from filling the disk on import.
MAX_FILE_BYTES = 2 << 30


class BadContent(ModelError):
    """The archive or folder does not hold the expected files: the download is useless."""


@contextlib.contextmanager
def open_source(path: Path) -> Iterator[IO[bytes]]:
    """``path`` open for reading; a ``ModelError`` naming it if it cannot be, not an OSError."""
    try:
        # Non-blocking, then checked: a pipe named like a weight file would wait for ever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ModelError(f"{path} is not a regular file; nothing was installed")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as fh:
        yield fh


def copy_verified(src: IO[bytes], dest: Path, expected: str, label: str) -> None:
    """Copy ``src`` to a new 0600 file ``dest``, checking its SHA-256 as it streams."""
    digest = hashlib.sha256()
    written = 0
    with os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb") as fh:
        while block := src.read(1 << 20):
            written += len(block)
            if written > MAX_FILE_BYTES:
                raise BadContent(
                    f"{label} is larger than any {dest.name} can be; nothing was installed"
                )
            digest.update(block)
            fh.write(block)
        fh.flush()
        os.fsync(fh.fileno())
    if digest.hexdigest() != expected:
        raise BadContent(
            f"{label} has the wrong SHA-256 (expected {expected}, got "
            f"{digest.hexdigest()}): it is damaged or not the official file; "
            "nothing was installed"
        )


def extract_zip(spec: PackSpec, archive: Path, work: Path) -> None:
    """Write ``spec``'s two files from ``archive`` (at any depth) into ``work``; nothing else
    from the archive is kept, and member paths are never used as destinations."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            for fname, expected in spec.files:
                found = [i for i in members if PurePosixPath(i.filename).name == fname]
                if not found:
                    raise BadContent(f"{archive} has no {fname}: it is not a {spec.name} pack")
                with zf.open(found[0]) as src:
                    copy_verified(src, work / fname, expected, f"{fname} in {archive}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BadContent(
            f"{archive} is a damaged zip archive ({exc}); nothing was installed"
        ) from None
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise BadContent(
            f"{archive} is encrypted ({exc}): unzip it yourself and import the folder; "
            "nothing was installed"
        ) from None
    except NotImplementedError as exc:  # Deflate64, or another method zipfile cannot read
        raise BadContent(
            f"{archive} uses a compression zipfile cannot read ({exc}): unzip it yourself "
            "and import the folder; nothing was installed"
        ) from None


def _keep_others(spec: PackSpec, old: Path, new: Path) -> None:
    """Move what the user put in a pack's folder (anything but its weight files) into the
    folder replacing it: selfscan deletes only what it made."""
    ours = {name for name, _ in spec.files}
    for path in old.iterdir():
        if path.name not in ours:
            os.replace(path, new / path.name)


def assemble(spec: PackSpec, dest_root: Path, fill: Callable[[Path], None]) -> ModelPack:
    """Run ``fill`` on a private temp dir inside ``dest_root``, then rename it to
    ``dest_root/<spec.name>`` (replacing an old copy). On any failure the temp dir goes."""
    final = dest_root / spec.name
    for stale in (*dest_root.glob(f".{spec.name}-new-*"), *dest_root.glob(f".{spec.name}-old-*")):
        shutil.rmtree(stale, ignore_errors=True)  # left by an import or install killed midway
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-new-", dir=dest_root))
    except OSError as exc:
        raise ModelError(f"cannot write into {dest_root}: {exc.strerror}") from None
    try:
        with private_umask():
            fill(work)
        if final.exists() or final.is_symlink():
            if final.is_dir() and not final.is_symlink():
                _keep_others(spec, final, work)
            old = Path(tempfile.mkdtemp(prefix=f".{spec.name}-old-", dir=dest_root))
            os.replace(final, old / spec.name)
            os.replace(work, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, final)
    except OSError as exc:
        raise ModelError(
            f"cannot write {spec.name} into {dest_root}: {exc.strerror or exc}"
        ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ModelPack(spec, final)
