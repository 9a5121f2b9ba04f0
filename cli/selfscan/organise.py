"""Gather the photos of you into one folder: copies (or hard links) with their times preserved,
and optionally XMP sidecars that tag your face for photo managers.

Originals are only ever read. Every file is created new (``O_EXCL``) under a sanitised base name
inside the destination, so no name from a file system or an archive can write outside it or
replace anything there; clashing names become ``name (2).jpg``, ``name (3).jpg``, … A match whose
exact bytes are already there, under any name, is left as it is, so running the same command
again adds only the new matches (not a photo renamed or moved since, nor a second identical
copy).

A hard link shares its data with the original: an editor that changes the linked file in place
changes the original too. Sidecars are the safe way to add tags.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .destnames import Taken, candidates, free, holds_nothing, mark_gathered, safe_name
from .errors import FileError, InputError
from .fingerprints import fingerprint_bytes, fingerprint_file
from .locate import Located, read_many, split_path
from .names import original_name
from .reports.xmp import sidecar
from .types import FileResult

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_FLAGS |= getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class OrganisedFile:
    """One match placed in the destination folder. ``error`` says why it was not (then ``dest``
    is the destination folder and nothing was written)."""

    source: str
    dest: Path
    linked: bool
    xmp: Path | None
    error: str | None = None
    existing: bool = False  # the destination already held these bytes: nothing was written
    twin: bool = False  # ... because another match of this run, the same bytes, was placed
    xmp_error: str | None = None  # why the sidecar was not written (a full disk)


def prepare_destination(dest: Path) -> None:
    """Create the destination folder, or say in one ``InputError`` why it cannot be used. Called
    before a scan too, so that a wrong ``--copy-to`` is known before hours of scanning."""
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest} is a file, not a folder: give a folder to put the copies in")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {dest}: {exc.strerror or exc}") from None
    if not dest.is_dir():
        raise InputError(f"{dest} is not a folder")
    if not os.access(dest, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {dest}: permission denied")


def organise(
    results: list[FileResult],
    dest: Path,
    mode: Literal["copy", "link"] = "copy",
    xmp: bool = False,
    person: str = "me",
    *,
    threshold: float = 0.4,
) -> list[OrganisedFile]:
    """Copy (or hard-link) every ``match`` in ``results`` into ``dest``.

    Args:
        results: scan results; only those with status ``match`` are placed.
        dest: the destination folder, created if missing.
        mode: ``copy``, or ``link`` to hard-link files on the same file system (archive members
            and files on another file system are copied).
        xmp: write ``NAME.ext.xmp`` beside each file with a face region per matching face.
        person: the name given to those face regions.
        threshold: faces at least this similar to the profile get a region.

    Returns:
        One ``OrganisedFile`` per match, in order; a file that could not be placed has
        ``error`` set and the others are still placed.
    """
    if mode not in ("copy", "link"):
        raise InputError(f"unknown mode {mode!r}: use copy or link")
    prepare_destination(dest)
    fresh = holds_nothing(dest)
    taken = Taken(dest)
    matches = [r for r in results if r.status == "match"]
    placed: dict[int, OrganisedFile] = {}
    members: dict[str, list[int]] = {}  # archive members are read together, archive by archive

    def put(i: int, member: Located | FileError | None) -> None:
        result = matches[i]
        try:
            if isinstance(member, FileError):
                raise member
            target, linked, existing = _place(result, dest, mode, member, taken)
        except FileError as exc:
            placed[i] = OrganisedFile(result.path, dest, False, None, exc.reason)
            return
        side, why = _write_sidecar(target, result, person, threshold) if xmp else (None, None)
        twin = existing and target.name in taken.placed
        placed[i] = OrganisedFile(
            result.path, target, linked, side, existing=existing, xmp_error=why, twin=twin
        )

    for i, result in enumerate(matches):
        if split_path(result.path)[1] is None:
            put(i, None)
        else:
            members.setdefault(result.path, []).append(i)
    for path, found in read_many(members):
        for i in members[path]:
            put(i, found)
    if fresh and any(p.error is None for p in placed.values()):
        mark_gathered(dest)
    return [placed[i] for i in range(len(matches))]


def _place(
    result: FileResult, dest: Path, mode: str, member: Located | None, taken: Taken
) -> tuple[Path, bool, bool]:
    """Put one file (or the archive member read as ``member``) in ``dest``; returns where,
    whether it is a hard link, and whether it was there already. A file whose content is no
    longer what was analysed (replaced during a long scan) is not placed: a stranger's photo
    would land among yours."""
    source = result.path
    name = safe_name(original_name((result.facts or {}).get("source") or {}) or source)
    data, mtime = (member.data, member.mtime) if member is not None else (None, None)
    if member is None and not os.path.isfile(source):
        raise FileError("the file no longer exists")
    size = len(data) if data is not None else _size(source)
    if result.fingerprint is not None:
        try:
            now = fingerprint_bytes(data) if data is not None else fingerprint_file(source, size)
        except OSError as exc:
            raise FileError(f"cannot read: {exc.strerror or exc}") from None
        if now != result.fingerprint:
            raise FileError("changed since it was scanned (scan again to include it)")
    # Its name first, then any file of its size: renamed or moved since, or an identical copy.
    for there in dict.fromkeys([*taken.variants(name), *taken.of_size(size)]):
        same = _same_file(there, source, data)
        if same is not None:
            return there, same, True
    for target in candidates(dest, name):
        if not free(target):
            continue
        try:
            if data is not None:
                _write_new(target, data, mtime)
                placed = (target, False, False)
            elif mode == "link" and _try_link(source, target):
                placed = (target, True, False)
            else:
                _copy_new(source, target)
                placed = (target, False, False)
        except FileExistsError:
            continue  # taken meanwhile: try the next name
        taken.add(target.name, size)
        return placed
    raise FileError(f"no free name for {name} in {dest}")


def _size(source: str) -> int:
    try:
        return os.stat(source).st_size
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None


def _same_file(target: Path, source: str, data: bytes | None) -> bool | None:
    """Whether ``target`` (a regular file, never followed if a link) already holds the bytes of
    ``source`` (or ``data``): None when it does not, else whether it is a hard link to it."""
    try:
        st = os.lstat(target)
        if not stat.S_ISREG(st.st_mode):
            return None
        if data is None:
            src = os.stat(source)
            if (st.st_dev, st.st_ino) == (src.st_dev, src.st_ino):
                return True
            size = src.st_size
        else:
            size = len(data)
        if st.st_size != size:
            return None
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        here = open(source, "rb") if data is None else io.BytesIO(data)  # noqa: SIM115
        with os.fdopen(fd, "rb") as there, here:
            while block := here.read(1 << 20):
                if there.read(len(block)) != block:
                    return None
        return False
    except OSError:
        return None


def _try_link(source: str, target: Path) -> bool:
    try:
        # The file a symlink leads to: a link to the symlink itself (what link() makes of one
        # on Linux) is broken where a relative symlink's target is not, and adds to its count.
        os.link(os.path.realpath(source), target)
    except FileExistsError:
        raise
    except OSError:  # another file system (EXDEV), or links not allowed: copy instead
        return False
    return True


def _open_new(target: Path, mode: int = 0o600) -> int:
    try:
        return os.open(target, _FLAGS, mode)
    except FileExistsError:
        raise
    except OSError as exc:
        raise FileError(f"cannot create {target.name}: {exc.strerror or exc}") from None


def _write_new(target: Path, data: bytes, mtime: float | None) -> None:
    fd = _open_new(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException as exc:  # a full disk, or Ctrl-C: no part copy under the photo's name
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileError(f"cannot write {target.name}: {exc.strerror or exc}") from None
        raise
    if mtime is not None:
        os.utime(target, (mtime, mtime))


def _copy_new(source: str, target: Path) -> None:
    """Copy bytes, then times and permission bits (``shutil.copy2`` without overwriting)."""
    fd = _open_new(target)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        shutil.copystat(source, target)
    except BaseException as exc:  # a full disk, or Ctrl-C: no part copy under the photo's name
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileError(f"cannot copy: {exc.strerror or exc}") from None
        raise


def _write_sidecar(
    target: Path, result: FileResult, person: str, threshold: float
) -> tuple[Path | None, str | None]:
    """Write ``target``'s sidecar unless one is there; returns it, or why it was not written."""
    text = sidecar(result, person, threshold)
    if text is None:
        return None, None
    path = Path(f"{target}.xmp")
    with contextlib.suppress(OSError):
        if os.lstat(path).st_size == 0 and stat.S_ISREG(os.lstat(path).st_mode):
            path.unlink()  # left empty by a full disk: nothing of anyone's to keep
    try:
        fd = _open_new(path)
    except FileExistsError:
        return None, None  # one of the user's own, or of an earlier run: kept
    except FileError as exc:
        return None, exc.reason
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException as exc:  # a full disk, or Ctrl-C: no half sidecar left
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            return None, f"cannot write {path.name}: {exc.strerror or exc}"
        raise
    return path, None
