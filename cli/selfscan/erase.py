"""Erase what selfscan keeps (``selfscan forget``): profiles, photos of a profile, the index or
rows of it, model packs. Only what selfscan made is deleted (see ``store``, which lists it); the
data dir goes only once nothing else is left in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

from . import lock
from .config import data_dir
from .errors import ProfileError, SelfscanError, StoreError
from .index import Index, index_path
from .index_rows import file_part
from .models import models_home
from .profiles import (
    is_profile_file,
    list_profiles,
    load_profile,
    profile_path,
    profiles_dir,
    save_profile,
    without,
)
from .store import (
    Removed,
    database_files,
    index_files,
    model_files,
    pack_files,
    profile_files,
    size_of,
)


def forget(
    profile: str | None = None,
    index: bool = False,
    everything: bool = False,
    models: bool = False,
    paths: list[str] | None = None,
    missing: bool = False,
    photos: list[str] | None = None,
) -> list[Removed]:
    """Delete stored data; returns what was removed. ``everything`` removes all personal data
    (every profile and the index); ``models`` the model packs; ``photos`` the references of
    ``profile`` made from these photos (the whole profile when none would be left). Files
    selfscan did not make are never deleted, so the data dir itself goes only when nothing
    else is left in it. Waits for an ``enroll`` under way (see ``lock.profiles_held``)."""
    with lock.profiles_held(data_dir()):
        return _forget(profile, index, everything, models, paths or [], missing, photos or [])


def _forget(
    profile: str | None,
    index: bool,
    everything: bool,
    models: bool,
    paths: list[str],
    missing: bool,
    photos: list[str],
) -> list[Removed]:
    home = data_dir()
    removed: list[Removed] = []
    if photos:  # photos of a profile, not the whole profile
        removed += _forget_photos(profile or "me", photos)
        profile = None

    def delete(path: Path, tree: bool = False) -> None:
        try:
            if tree and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            done = "; removed before that: " + ", ".join(r.path for r in removed) if removed else ""
            raise StoreError(
                f"cannot delete {path} ({exc.strerror or exc}): check that the data dir "
                f"{home} and its folders are writable, then run the command again{done}"
            ) from None

    def rm(path: Path, what: str, tree: bool = False) -> None:
        """Delete a file selfscan made (``tree``: a temp folder of its own, whole)."""
        if not path.exists() and not path.is_symlink():
            return
        if path.is_dir() and not path.is_symlink() and not tree:
            return  # a folder where selfscan keeps a file is not selfscan's: 'data' lists it
        size = size_of(path)
        if path.is_symlink():  # only the link is selfscan's to delete: say where it led
            what = f"{what} (a link; what it leads to, {os.readlink(path)}, is left there)"
            size = 0
        delete(path, tree)
        removed.append(Removed(what, str(path), size))

    def rm_pack(pack: Path) -> None:
        """A pack's weight files, and its folder unless it holds anything else."""
        files = pack_files(pack)
        size = sum(size_of(f) for f in files)
        for path in files:
            delete(path)
        what = f"model pack {pack.name}"
        if not _remove_if_empty(pack):
            what += " (its folder is kept: it holds files selfscan did not make)"
        removed.append(Removed(what, str(pack), size))

    if profile is not None:
        path = profile_path(profile)
        profile = path.stem  # "ME" is the stored "me"
        if path.exists() and not is_profile_file(path):
            raise ProfileError(
                f"{path} is not a selfscan profile (selfscan did not make it): left alone; "
                "'selfscan data' lists the profiles"
            )
        leftovers = [p for p in profile_files() if p.name.startswith(f".{path.name}.tmp")]
        if not path.exists() and not leftovers:
            removed.append(_absent(f"no profile named {profile!r}; 'selfscan data' lists them"))
        rm(path, f"profile {profile}")
        for temp in leftovers:  # an interrupted save of this profile: its embeddings too
            rm(temp, "profile temp file")
    if (paths or missing) and not (index or everything) and index_path().exists():
        removed += _forget_rows(paths or [], missing)
    if (index or everything) and any(p.exists() for p in index_files()):
        # never under a running scan: it would go on writing to a deleted file
        with lock.held(index_path(), "stop it, or let it finish, before forgetting the index"):
            for path in database_files():
                rm(path, "index")
        rm(lock.lock_path(index_path()), "index")
    if everything:
        for path in profile_files():
            rm(path, "profile temp file" if path.name.startswith(".") else f"profile {path.stem}")
        _remove_if_empty(profiles_dir())
    if models:
        made = model_files()
        for path in made["packs"]:
            rm_pack(path)
        for path in made["marker"]:
            rm(path, "model pack choice")
        for path in made["leftovers"]:
            rm(path, "model pack leftover", tree=True)
        for path in made["partial"]:
            rm(path, "model pack leftover")
        _remove_if_empty(models_home())
    if everything and _remove_if_empty(home):
        removed.append(Removed("data dir", str(home), 0))
    return removed


def _forget_photos(name: str, photos: list[str]) -> list[Removed]:
    """Remove from profile ``name`` the references made from ``photos`` (given as paths, or
    as the file names ``selfscan data`` shows); the profile file goes when none is left."""
    path = profile_path(name)
    if not path.exists():
        return [_absent(f"no profile named {name!r}; 'selfscan data' lists them")]
    name = path.stem
    stored = load_profile(name)
    sources = {r.source for r in stored.references}
    chosen: set[str] = set()
    absent: list[Removed] = []
    for photo in photos:
        found = _named(photo, sources)
        if not found:
            hint = _where_else(photo, name)
            absent.append(_absent(f"profile {name!r} holds no reference photo {photo!r}; {hint}"))
            continue
        if len(found) > 1:
            raise ProfileError(
                f"profile {name!r} holds {len(found)} photos named {photo!r} "
                f"({', '.join(sorted(found))}): give the one to remove by its path"
            )
        chosen |= found
    if not chosen:
        return absent
    kept = without(stored, chosen)
    size = size_of(path)
    if kept.references:
        save_profile(kept)
    else:
        path.unlink()
    one = f"reference photo of profile {name}"
    removed = [Removed(one + "s", source, 0, 1, one) for source in sorted(chosen)]
    if not kept.references:
        removed.append(Removed(f"profile {name} (no reference photo left)", str(path), size))
    return removed + absent


def _named(photo: str, sources: set[str]) -> set[str]:
    """The references among ``sources`` that ``photo`` names: by its path, else its file name."""
    found = {str(Path(photo).expanduser().resolve()), photo} & sources
    return found or {s for s in sources if Path(s).name == photo}


def _where_else(photo: str, name: str) -> str:
    """What to do when profile ``name`` does not hold ``photo``: the profile that does."""
    holders = _holders(photo, besides=name)
    if len(holders) == 1:
        return f"profile {holders[0]!r} does: add --profile {holders[0]}"
    if holders:
        return f"profiles {', '.join(map(repr, holders))} do: add --profile NAME"
    return "'selfscan data' lists its photos"


def _holders(photo: str, besides: str) -> list[str]:
    """The stored profiles other than ``besides`` that hold a reference made from ``photo``."""
    holders = []
    for other in list_profiles():
        if other == besides:
            continue
        try:
            sources = {r.source for r in load_profile(other).references}
        except SelfscanError:  # an unreadable profile is said elsewhere
            continue
        if _named(photo, sources):
            holders.append(other)
    return holders


def _absent(what: str) -> Removed:
    """What was asked to be forgotten and is not stored: said, and not an error (forgetting
    twice ends where forgetting once does)."""
    return Removed(what, "", 0, absent=True)


def _forget_rows(paths: list[str], missing: bool) -> list[Removed]:
    """Delete the index rows under ``paths`` and, with ``missing``, of items that no longer
    exist; their faces and embeddings go with them (and are overwritten in the file)."""
    with lock.held(index_path(), "stop it, or let it finish, before forgetting from the index"):
        db = Index(index_path())
        try:
            removed = _forget_from(db, paths, missing)
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                db.rollback()
            if "full" not in str(exc):
                raise
            raise StoreError(
                f"cannot forget from the index {index_path()} ({exc}): deleting rows needs a "
                "little free space; free some and run it again, or delete the whole index "
                "with 'selfscan forget --index'"
            ) from None
        finally:
            db.close()
    return removed


def _forget_from(db: Index, paths: list[str], missing: bool) -> list[Removed]:
    removed: list[Removed] = []
    for path in paths:
        count = db.forget_under(_spellings(db, path))
        where = os.path.abspath(path)
        removed.append(Removed("indexed files under", where, 0, count, "indexed file under"))
    if missing:
        gone = db.forget_gone()
        removed.append(
            Removed(
                "indexed files that no longer exist",
                "",
                0,
                gone,
                "indexed file that no longer exists",
            )
        )
    # Commits, then rewrites the file with what it still holds: nothing of a forgotten row stays.
    db.compact(wipe=any(r.count for r in removed))
    return removed


def _spellings(db: Index, path: str) -> list[str]:
    """The index rows to forget for ``path``: under it as written, under what it resolves to,
    and every row whose file resolves to a place under that (a folder scanned through a symlink,
    or ``path`` itself a symlink)."""
    target = os.path.realpath(path)
    roots = {os.path.abspath(path), target}
    for row in db.iter_paths():
        real = os.path.realpath(file_part(row))
        if real == target or real.startswith(target.rstrip(os.sep) + os.sep):
            roots.add(row)
    return sorted(roots)


def _remove_if_empty(folder: Path) -> bool:
    try:
        folder.rmdir()
    except OSError:  # missing, or holds what is not selfscan's to delete
        return False
    return True
