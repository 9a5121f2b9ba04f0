"""What selfscan keeps on disk, listed and erased (``selfscan data`` and ``selfscan forget``).

Personal data: profiles (your reference embeddings) and the index (faces and embeddings of every
person in your scanned photos). Not personal: installed model packs, kept by ``forget --all``
unless ``--models`` is given too.

Only what selfscan made is listed or deleted: profile files with a valid name (and the temporary
files of an interrupted save), the index's database and lock files, and the model packs. Anything
else found in the data dir (``SELFSCAN_HOME`` may point at a folder that holds other files) is
counted as "not selfscan's" and left alone; the data dir is removed only once it is empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import lock
from .config import data_dir
from .errors import ProfileError, StoreError
from .index import Index, foreign_index, index_path
from .index_rows import file_part, store_problem
from .models import PACKS, active_marker, models_home
from .profiles import (
    check_name,
    is_profile_file,
    list_profiles,
    load_profile,
    profiles_dir,
    save_profile,
    without,
)

# What ``config.write_private`` leaves behind when a save is interrupted: ``.NAME.json.tmpPID``.
_PROFILE_TEMP = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.json\.tmp\d+$")
# What ``packfiles.assemble`` and ``packs.install`` leave when interrupted.
_PACK_TEMP = re.compile(r"^\.[A-Za-z0-9_]+-(new|old)-[A-Za-z0-9_]+$")
_PARTIAL = re.compile(r"^[A-Za-z0-9_]+-[0-9a-f]{12}\.zip\.part$")


@dataclass(frozen=True)
class Removed:
    """One thing ``forget`` deleted."""

    what: str
    path: str
    size: int
    count: int | None = None  # indexed items forgotten, for --path and --missing
    one: str | None = None  # ``what`` when ``count`` is 1


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def _database_files() -> list[Path]:
    base = index_path()
    return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]


def _index_files() -> list[Path]:
    """The index's files; none when ``index.sqlite`` is someone else's database."""
    if foreign_index(index_path()):
        return []
    return [*_database_files(), lock.lock_path(index_path())]


def _profile_files() -> list[Path]:
    """Stored profiles and leftovers of interrupted saves: the files selfscan made there."""
    folder = profiles_dir()
    made = [folder / f"{name}.json" for name in _profile_names()]
    if folder.is_dir():
        made += sorted(p for p in folder.iterdir() if _PROFILE_TEMP.match(p.name))
    return made


def _profile_names() -> list[str]:
    """The profiles' names: files named like one that ``profiles.is_profile_file`` calls
    selfscan's; any other file is the user's."""
    return [n for n in list_profiles() if is_profile_file(profiles_dir() / f"{n}.json")]


def _model_files() -> dict[str, list[Path]]:
    """What selfscan made under ``models/``: the packs (a folder per known pack), the chosen
    pack's marker, the temp folders of an interrupted import or install, and partial
    downloads (kept to resume). Anything else there is the user's."""
    folder = models_home()
    found: dict[str, list[Path]] = {"packs": [], "marker": [], "leftovers": [], "partial": []}
    if not folder.is_dir():
        return found
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.is_symlink() and p.name in PACKS:
            found["packs"].append(p)
        elif p == active_marker() and p.is_file():
            found["marker"].append(p)
        elif p.is_dir() and _PACK_TEMP.match(p.name):
            found["leftovers"].append(p)
        elif p.is_file() and _PARTIAL.match(p.name):
            found["partial"].append(p)
    return found


def _ours() -> set[Path]:
    """Every path in the data dir that selfscan made (folders included)."""
    home = data_dir()
    made = [p for paths in _model_files().values() for p in paths]
    return {
        home,
        profiles_dir(),
        *_profile_files(),
        *_index_files(),
        models_home(),
        *made,
        *(q for p in made if p.is_dir() for q in p.rglob("*")),
    }


def others() -> list[Path]:
    """Files in the data dir that selfscan did not make: listed, never deleted."""
    home = data_dir()
    if not home.is_dir():
        return []
    ours = _ours()
    return sorted(p for p in home.rglob("*") if p not in ours and not p.is_dir())


def inventory() -> dict[str, Any]:
    """Everything stored: profiles, the index, model packs, and the total size."""
    home = data_dir()
    profiles = []
    for name in _profile_names():
        path = profiles_dir() / f"{name}.json"
        try:
            p = load_profile(name)
            refs, model = len(p.references), p.model_id
            photos = [r.source for r in p.references]
        except ProfileError:
            refs, model, photos = 0, "unreadable", []
        profiles.append(
            {
                "name": name,
                "path": str(path),
                "references": refs,
                "embeddings": refs,
                "model_id": model,
                "photos": photos,
                "bytes": _size(path),
            }
        )
    for temp in (p for p in _profile_files() if p.name.startswith(".")):
        profiles.append(
            {"name": temp.name, "path": str(temp), "leftover": True, "bytes": _size(temp)}
        )
    ours = bool(_index_files())
    index: dict[str, Any] = {"path": str(index_path()), "exists": ours and index_path().exists()}
    index.update(dict.fromkeys(("files", "faces", "embeddings", "missing", "problem")))
    if index["exists"]:
        try:
            db = Index(index_path())
        except StoreError as exc:  # damaged: still listed, with the way to delete it
            index["problem"] = str(exc)
        else:
            try:
                index.update(db.stats(), missing=len(db.gone()))
            except sqlite3.DatabaseError as exc:  # damaged inside: the rest is still listed
                index["problem"] = str(store_problem(index_path(), exc))
            finally:
                db.close()
    index["bytes"] = sum(_size(p) for p in _index_files())
    made = _model_files()
    kinds = {"packs": "pack", "marker": "choice", "leftovers": "leftover", "partial": "partial"}
    models = [
        {"name": p.name, "path": str(p), "bytes": _size(p), "kind": kind}
        for key, kind in kinds.items()
        for p in made[key]
    ]
    foreign = others()
    return {
        "data_dir": str(home),
        "exists": home.exists(),
        "profiles": profiles,
        "index": index,
        "models": models,
        "others": {
            "files": len(foreign),
            "bytes": sum(_size(p) for p in foreign),
            "paths": [str(p) for p in foreign],
        },
        "total_bytes": sum(p["bytes"] for p in profiles)
        + index["bytes"]
        + sum(m["bytes"] for m in models),
    }


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

    def rm(path: Path, what: str) -> None:
        if not path.exists() and not path.is_symlink():
            return
        size = _size(path)
        if path.is_symlink():  # only the link is selfscan's to delete: say where it led
            what = f"{what} (a link; what it leads to, {os.readlink(path)}, is left there)"
            size = 0
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            done = "; removed before that: " + ", ".join(r.path for r in removed) if removed else ""
            raise StoreError(
                f"cannot delete {path} ({exc.strerror or exc}): check that the data dir "
                f"{home} and its folders are writable, then run the command again{done}"
            ) from None
        removed.append(Removed(what, str(path), size))

    if profile is not None:
        path = profiles_dir() / f"{check_name(profile)}.json"
        if path.exists() and not is_profile_file(path):
            raise ProfileError(
                f"{path} is not a selfscan profile (selfscan did not make it): left alone; "
                "'selfscan data' lists the profiles"
            )
        leftovers = [p for p in _profile_files() if p.name.startswith(f".{path.name}.tmp")]
        if not path.exists() and not leftovers:
            raise ProfileError(f"no profile named {profile!r}; 'selfscan data' lists them")
        rm(path, f"profile {profile}")
        for temp in leftovers:  # an interrupted save of this profile: its embeddings too
            rm(temp, "profile temp file")
    if (paths or missing) and not (index or everything) and index_path().exists():
        removed += _forget_rows(paths or [], missing)
    if (index or everything) and any(p.exists() for p in _index_files()):
        # never under a running scan: it would go on writing to a deleted file
        with lock.held(index_path(), "stop it, or let it finish, before forgetting the index"):
            for path in _database_files():
                rm(path, "index")
        rm(lock.lock_path(index_path()), "index")
    if everything:
        for path in _profile_files():
            rm(path, "profile temp file" if path.name.startswith(".") else f"profile {path.stem}")
        _remove_if_empty(profiles_dir())
    if models:
        made = _model_files()
        for path in made["packs"]:
            rm(path, f"model pack {path.name}")
        for path in made["marker"]:
            rm(path, "model pack choice")
        for path in made["leftovers"] + made["partial"]:
            rm(path, "model pack leftover")
        _remove_if_empty(models_home())
    if everything and _remove_if_empty(home):
        removed.append(Removed("data dir", str(home), 0))
    return removed


def _forget_photos(name: str, photos: list[str]) -> list[Removed]:
    """Remove from profile ``name`` the references made from ``photos`` (given as paths, or
    as the file names ``selfscan data`` shows); the profile file goes when none is left."""
    if not (profiles_dir() / f"{check_name(name)}.json").exists():
        raise ProfileError(f"no profile named {name!r}; 'selfscan data' lists them")
    stored = load_profile(name)
    sources = {r.source for r in stored.references}
    chosen: set[str] = set()
    for photo in photos:
        found = {str(Path(photo).expanduser().resolve()), photo} & sources
        found = found or {s for s in sources if Path(s).name == photo}
        if not found:
            raise ProfileError(
                f"profile {name!r} holds no reference photo {photo!r}; 'selfscan data' lists "
                "its photos"
            )
        if len(found) > 1:
            raise ProfileError(
                f"profile {name!r} holds {len(found)} photos named {photo!r} "
                f"({', '.join(sorted(found))}): give the one to remove by its path"
            )
        chosen |= found
    kept = without(stored, chosen)
    path = profiles_dir() / f"{name}.json"
    size = _size(path)
    if kept.references:
        save_profile(kept)
    else:
        path.unlink()
    one = f"reference photo of profile {name}"
    removed = [Removed(one + "s", source, 0, 1, one) for source in sorted(chosen)]
    if not kept.references:
        removed.append(Removed(f"profile {name} (no reference photo left)", str(path), size))
    return removed


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
    db.compact()  # commits, then the file shrinks with what it holds
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


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=1)
