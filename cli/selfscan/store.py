"""What selfscan keeps on disk, listed (``selfscan data``; ``erase`` deletes it: ``forget``).

Personal data: profiles (your reference embeddings) and the index (faces and embeddings of every
person in your scanned photos). Not personal: installed model packs, kept by ``forget --all``
unless ``--models`` is given too.

Only what selfscan made is listed or deleted: profile files with a valid name (and the temporary
files of an interrupted save), the index's database and lock files, and the model packs. Anything
else found in the data dir (``SELFSCAN_HOME`` may point at a folder that holds other files) is
counted as "not selfscan's" and left alone; the data dir is removed only once it is empty.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import lock
from .config import data_dir
from .errors import ProfileError, StoreError
from .index import Index, foreign_index, index_path
from .index_rows import store_problem
from .models import PACKS, active_marker, models_home
from .profiles import (
    is_profile_file,
    list_profiles,
    load_profile,
    profiles_dir,
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
    absent: bool = False  # nothing was there to delete: ``what`` says what was asked for


def size_of(path: Path) -> int:
    """Bytes in a file, or in every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def database_files() -> list[Path]:
    """The index's database and SQLite's files beside it."""
    base = index_path()
    return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]


def index_files() -> list[Path]:
    """The index's files; none when ``index.sqlite`` is someone else's database."""
    if foreign_index(index_path()):
        return []
    made = [*database_files(), lock.lock_path(index_path())]
    return [p for p in made if not (p.is_dir() and not p.is_symlink())]  # a folder is not its


def profile_files() -> list[Path]:
    """Stored profiles and leftovers of interrupted saves: the files selfscan made there."""
    folder = profiles_dir()
    made = [folder / f"{name}.json" for name in _profile_names()]
    if folder.is_dir():
        made += sorted(p for p in folder.iterdir() if _PROFILE_TEMP.fullmatch(p.name))
    return made


def _profile_names() -> list[str]:
    """The profiles' names: files named like one that ``profiles.is_profile_file`` calls
    selfscan's; any other file is the user's."""
    return [n for n in list_profiles() if is_profile_file(profiles_dir() / f"{n}.json")]


def model_files() -> dict[str, list[Path]]:
    """What selfscan made under ``models/``: the packs (a folder per known pack), the chosen
    pack's marker, the temp folders of an interrupted import or install, and partial
    downloads (kept to resume). Anything else there is the user's."""
    folder = models_home()
    found: dict[str, list[Path]] = {"packs": [], "marker": [], "leftovers": [], "partial": []}
    if not folder.is_dir():
        return found
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.is_symlink() and p.name in PACKS and pack_files(p):
            found["packs"].append(p)
        elif p == active_marker() and p.is_file():
            found["marker"].append(p)
        elif p.is_dir() and _PACK_TEMP.match(p.name):
            found["leftovers"].append(p)
        elif p.is_file() and _PARTIAL.match(p.name):
            found["partial"].append(p)
    return found


def pack_files(pack: Path) -> list[Path]:
    """The weight files of a pack's folder: all that selfscan puts there."""
    spec = PACKS.get(pack.name)
    files = [pack / name for name, _ in spec.files] if spec is not None else []
    return [f for f in files if f.is_file() and not f.is_symlink()]


def _ours() -> set[Path]:
    """Every path in the data dir that selfscan made (folders included)."""
    home = data_dir()
    found = model_files()
    made = [p for paths in found.values() for p in paths]
    folders = [f for f in (profiles_dir(), models_home()) if f.is_dir()]  # a file there is not ours
    return {
        home,
        *folders,
        *profile_files(),
        *index_files(),
        *made,
        *(q for p in found["packs"] for q in pack_files(p)),
        *(q for p in found["leftovers"] for q in p.rglob("*")),
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
                # moved or deleted since: their faces stay in the profile until forgotten
                "missing_photos": [s for s in photos if not os.path.exists(s)],
                "bytes": size_of(path),
            }
        )
    for temp in (p for p in profile_files() if p.name.startswith(".")):
        profiles.append(
            {"name": temp.name, "path": str(temp), "leftover": True, "bytes": size_of(temp)}
        )
    ours = bool(index_files())
    index: dict[str, Any] = {"path": str(index_path()), "exists": ours and index_path().is_file()}
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
    index["bytes"] = sum(size_of(p) for p in index_files())
    made = model_files()
    kinds = {"packs": "pack", "marker": "choice", "leftovers": "leftover", "partial": "partial"}
    models = [
        {
            "name": p.name,
            "path": str(p),
            "bytes": sum(map(size_of, pack_files(p))) if kind == "pack" else size_of(p),
            "kind": kind,
        }
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
            "bytes": sum(size_of(p) for p in foreign),
            "paths": [str(p) for p in foreign],
        },
        "total_bytes": sum(p["bytes"] for p in profiles)
        + index["bytes"]
        + sum(m["bytes"] for m in models),
    }


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=1)
