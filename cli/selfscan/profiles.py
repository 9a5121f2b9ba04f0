"""Store and load profiles: the reference embeddings of the person using selfscan.

A profile is one JSON file in ``<data dir>/profiles/NAME.json`` (mode 0600) holding, for each
reference photo, where it came from, the face box and the embedding, plus the model id that made
them. Embeddings of another model are never compared: a profile made with another pack is
re-embedded from its source photos when they are still there (see ``references``, which builds
them).
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import data_dir, write_private
from .errors import ProfileError, StoreError
from .types import Profile, Reference

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def profiles_dir() -> Path:
    """Where profiles are stored."""
    return data_dir() / "profiles"


def check_name(name: str) -> str:
    """A profile name safe to use as a file name, or a ``ProfileError``."""
    if not _NAME.fullmatch(name):
        raise ProfileError(
            f"invalid profile name {name!r}: use ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (max 64)"
        )
    return name


def profile_path(name: str) -> Path:
    """The file of profile ``name``: names that differ only in case are one profile, as they
    are on macOS's and Windows's file systems (``Me`` is the stored ``me``), so that a data dir
    means the same on every system; a new profile's is ``NAME.json``."""
    check_name(name)
    stored = list_profiles()
    same = [n for n in stored if n == name] or [
        n for n in stored if n.casefold() == name.casefold()
    ]
    return profiles_dir() / f"{same[0] if same else name}.json"


def without(profile: Profile, sources: set[str]) -> Profile:
    """``profile`` less the references whose photo is one of ``sources``."""
    keep = tuple(r for r in profile.references if r.source not in sources)
    return Profile(name=profile.name, model_id=profile.model_id, references=keep)


def _encode(profile: Profile) -> bytes:
    doc: dict[str, Any] = {
        "format": 1,
        "name": profile.name,
        "model_id": profile.model_id,
        "saved_at": int(time.time()),
        "references": [
            {
                "source": r.source,
                "box": [round(v, 1) for v in r.box],
                "det_score": round(r.det_score, 4),
                "embedding": base64.b64encode(r.embedding.astype("<f4").tobytes()).decode(),
                **({"fingerprint": r.fingerprint} if r.fingerprint else {}),
            }
            for r in profile.references
        ],
    }
    return json.dumps(doc, indent=1).encode()


def save_profile(profile: Profile) -> Path:
    """Write ``profile`` (mode 0600); returns its path."""
    path = profile_path(profile.name)
    if path.stem != profile.name:  # stored under the name it already has
        profile = Profile(name=path.stem, model_id=profile.model_id, references=profile.references)
    try:
        write_private(path, _encode(profile))
    except OSError as exc:
        raise StoreError(
            f"cannot save profile {profile.name!r} to {path} ({exc.strerror or exc}): check that "
            "selfscan's data dir is writable"
        ) from None
    return path


def is_profile_file(path: Path) -> bool:
    """Whether ``path`` (in ``profiles/``) is a profile selfscan made: JSON with a profile's
    keys, or damaged but with a profile's keys in it (it may hold embeddings). Any other file
    there is the user's: never read as a profile, replaced or deleted."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable: kept as ours, since it may hold embeddings
    try:
        doc = json.loads(raw)
    except ValueError:
        return any(key in raw for key in (b'"references"', b'"model_id"', b'"embedding"'))
    return isinstance(doc, dict) and ("references" in doc or "model_id" in doc)


def load_profile(name: str) -> Profile:
    """The stored profile ``name``, or a ``ProfileError`` saying how to make one."""
    path = profile_path(name)
    if path.exists() and not is_profile_file(path):
        raise ProfileError(
            f"{path} is not a selfscan profile (selfscan did not make it, and leaves it alone): "
            "choose another name with --profile"
        )
    if profiles_dir().exists() and not profiles_dir().is_dir():
        raise ProfileError(
            f"{profiles_dir()} is a file where selfscan keeps a folder: move it out of the way"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        refs = tuple(
            Reference(
                source=r["source"],
                box=tuple(r["box"]),
                det_score=float(r["det_score"]),
                embedding=np.frombuffer(base64.b64decode(r["embedding"]), dtype="<f4").copy(),
                fingerprint=r["fingerprint"] if isinstance(r.get("fingerprint"), str) else None,
            )
            for r in doc["references"]
        )
        _check_references(refs)
        if not isinstance(doc["name"], str) or not isinstance(doc["model_id"], str):
            raise ValueError("its name or model is damaged")
        return Profile(name=doc["name"], model_id=doc["model_id"], references=refs)
    except FileNotFoundError:
        raise ProfileError(
            f"no profile named {name!r}: create it with 'selfscan enroll PHOTO... --profile "
            f"{name}', or pass --me PHOTO to find"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(
            f"profile {name!r} is unreadable ({exc}); delete it with 'selfscan forget "
            f"--profile {name}' and enroll again"
        ) from None


def profile_exists(name: str) -> bool:
    """Whether a profile file named ``name`` exists (readable or not)."""
    return profile_path(name).is_file()


def _check_references(refs: tuple[Reference, ...]) -> None:
    """A ``ValueError`` unless there are references, each with a photo path, a box of four
    numbers, and an embedding of unit length, all of one length (as selfscan writes them): a
    damaged or hand-edited profile."""
    if not refs:
        raise ValueError("it holds no reference photo")
    for r in refs:
        if not isinstance(r.source, str) or not r.source:
            raise ValueError("a reference has no photo path")
        box_ok = len(r.box) == 4 and all(isinstance(v, (int, float)) for v in r.box)
        if not box_ok or not all(math.isfinite(v) for v in r.box):
            raise ValueError("a reference's face box is damaged")
        if not math.isfinite(r.det_score):
            raise ValueError("a reference's detector score is damaged")
    sizes = {r.embedding.size for r in refs}
    if len(sizes) != 1 or sizes.pop() < 64:
        raise ValueError("its embeddings are damaged")
    for r in refs:
        length = float(np.linalg.norm(r.embedding))
        if not abs(length - 1.0) < 1e-3:  # also false for NaN
            raise ValueError("its embeddings are damaged")


def list_profiles() -> list[str]:
    """Names of the stored profiles."""
    folder = profiles_dir()
    if not folder.is_dir():
        return []
    # A file with another name (``me copy.json``) is not one selfscan wrote, nor can it be named.
    return sorted(p.stem for p in folder.glob("*.json") if _NAME.fullmatch(p.stem) and p.is_file())
