"""Install, import, choose and list model packs.

:func:`install_pack` fetches a pack's release archive through :mod:`selfscan.download`, the only
code in selfscan that opens a network connection, and only on an explicit ``selfscan models
install``. What it fetches is checked against SHA-256 sums fixed in
:data:`selfscan.models.PACKS` before anything uses it. A pack is assembled in a private
temp dir inside ``<data dir>/models`` and renamed into place only once every file has verified
(:mod:`selfscan.packfiles`), so a failed install never leaves a half-written pack behind.
"""

from __future__ import annotations

import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from .config import ensure_private_dir, expand_user, write_private
from .download import ProgressFn, download
from .errors import InputError, ModelError
from .models import (
    DEFAULT_PACK,
    PACKS,
    REINSTALL_DEFAULT,
    ModelPack,
    PackSpec,
    active_marker,
    active_pack_name,
    candidate_dirs,
    file_status,
    find_pack,
    models_home,
)
from .packfiles import BadContent, assemble, copy_verified, extract_zip, open_source


@dataclass(frozen=True)
class FileInfo:
    """One weight file of a pack, as found on disk."""

    name: str
    path: Path
    size: int | None
    status: Literal["ok", "mismatch", "missing"]


@dataclass(frozen=True)
class PackInfo:
    """What ``selfscan models list`` shows about one known pack."""

    name: str
    description: str
    licence: str
    installed: bool
    active: bool
    directory: Path
    files: tuple[FileInfo, ...]
    model_id: str | None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings)."""
        return {
            "name": self.name,
            "description": self.description,
            "licence": self.licence,
            "installed": self.installed,
            "active": self.active,
            "directory": str(self.directory),
            "model_id": self.model_id,
            "files": [
                {"name": f.name, "path": str(f.path), "size": f.size, "status": f.status}
                for f in self.files
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class InstallResult:
    """The pack ``install`` left in place, and whether it had to download it."""

    pack: ModelPack
    downloaded: bool


def known_spec(name: str) -> PackSpec:
    """The spec of pack ``name``, or a ``ModelError`` listing the known ones."""
    spec = PACKS.get(name)
    if spec is None:
        raise ModelError(f"unknown model pack {name!r}; known packs: {', '.join(sorted(PACKS))}")
    return spec


def list_packs() -> list[PackInfo]:
    """Every known pack: where it is, each file's size and checksum status, which is in use."""
    active = active_pack_name()
    infos = []
    for name, spec in PACKS.items():
        pack = find_pack(name)
        dirs = candidate_dirs(name)
        if pack is not None:
            directory = pack.directory
        else:  # show the copy closest to usable, else where an install would go
            present = [d for d in dirs if any((d / f).exists() for f, _ in spec.files)]
            directory = present[0] if present else models_home() / name
        files = []
        for fname, expected in spec.files:
            path = directory / fname
            size = path.stat().st_size if path.is_file() else None
            files.append(FileInfo(fname, path, size, file_status(path, expected)))
        notes = [
            f"{d / f} has the wrong SHA-256 and is ignored"
            for d in dirs
            if d != directory
            for f, sha in spec.files
            if file_status(d / f, sha) == "mismatch"
        ]
        infos.append(
            PackInfo(
                name=name,
                description=spec.description,
                licence=spec.licence,
                installed=pack is not None,
                active=name == active,
                directory=directory,
                files=tuple(files),
                model_id=pack.model_id if pack else None,
                notes=tuple(notes),
            )
        )
    return infos


def how_to_get(name: str) -> str:
    """The command that makes pack ``name`` available."""
    if name == DEFAULT_PACK:
        return (
            f"it ships with selfscan; reinstall it with: {REINSTALL_DEFAULT} (offline: "
            "'selfscan models import ZIP|DIR' with its two files)"
        )
    return f"run 'selfscan models install {name}', or 'selfscan models import ZIP|DIR' offline"


def use_pack(name: str) -> ModelPack:
    """Make ``name`` the active pack (recorded in ``<data dir>/models/active``). Refuses a pack
    that is not installed and verified."""
    known_spec(name)
    pack = find_pack(name)
    if pack is None:
        raise ModelError(
            f"model pack {name} is not installed or failed verification: {how_to_get(name)}"
        )
    try:
        write_private(active_marker(), f"{name}\n".encode())
    except OSError as exc:
        raise ModelError(
            f"cannot record the choice of {name} in {active_marker()} ({exc.strerror or exc}): "
            "check that selfscan's data dir is writable"
        ) from None
    return pack


def install(
    name: str,
    *,
    url: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> InstallResult:
    """Download pack ``name`` from its release archive (or ``url``, a mirror: the SHA-256 sums
    stay the ones in ``PACKS``) into ``<data dir>/models``. A pack that is already available
    and verified is left as it is unless ``force``."""
    spec = known_spec(name)
    if not force:
        existing = find_pack(name)
        if existing is not None:
            return InstallResult(existing, downloaded=False)
    if spec.url is None or spec.archive_sha256 is None:
        raise ModelError(f"model pack {name} has nothing to download: {how_to_get(name)}")
    pack = install_pack(spec, url or spec.url, spec.archive_sha256, progress=progress)
    return InstallResult(pack, downloaded=True)


def install_pack(
    spec: PackSpec,
    url: str,
    sha256: str,
    dest_root: Path | None = None,
    progress: ProgressFn | None = None,
) -> ModelPack:
    """Fetch the zip at ``url`` (resuming a partial download), check it has SHA-256 ``sha256``,
    then install ``spec``'s two files from it into ``dest_root/<spec.name>``."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"cannot download {url!r}: only http and https URLs are supported")
    dest_root = ensure_private_dir(dest_root or models_home())
    part = dest_root / f"{spec.name}-{sha256[:12]}.zip.part"
    download(url, part, sha256, progress)
    try:
        pack = assemble(spec, dest_root, lambda work: extract_zip(spec, part, work))
    except BadContent:
        part.unlink(missing_ok=True)
        raise
    part.unlink(missing_ok=True)
    return pack


def import_pack(
    source: Path, spec: PackSpec | None = None, dest_root: Path | None = None
) -> ModelPack:
    """Install a pack from a local zip (the release archive, or a zip of a folder) or a folder
    holding the two ``.onnx`` files; the pack is recognised by its file names unless ``spec``
    is given. Every file is checked against its SHA-256."""
    source = expand_user(str(source), "model pack")
    if source.is_dir():
        found = {p.name: p for p in [*source.glob("*/*.onnx"), *source.glob("*.onnx")]}
        spec = spec or _spec_for(set(found), source)
        _require(spec, set(found), source)

        def fill(work: Path) -> None:
            for fname, expected in spec.files:
                with open_source(found[fname]) as src:
                    copy_verified(src, work / fname, expected, f"{found[fname]}")

        return assemble(spec, ensure_private_dir(dest_root or models_home()), fill)
    if not source.exists():
        raise InputError(f"{source} does not exist: give the pack's zip archive or its folder")
    if not source.is_file():  # a device would be read without end, a pipe waited on for ever
        raise InputError(
            f"{source} is not a regular file: give the pack's zip archive or its folder"
        )
    try:
        with zipfile.ZipFile(source) as zf:
            names = {PurePosixPath(i.filename).name for i in zf.infolist() if not i.is_dir()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{source} is neither a folder nor a readable zip archive ({exc})"
        ) from None
    spec = spec or _spec_for(names, source)
    _require(spec, names, source)
    root = ensure_private_dir(dest_root or models_home())
    return assemble(spec, root, lambda work: extract_zip(spec, source, work))


def _spec_for(names: set[str], source: Path) -> PackSpec:
    for spec in PACKS.values():
        if {f for f, _ in spec.files} <= names:
            return spec
    expected = "; ".join(f"{s.name}: {s.detector} + {s.recognizer}" for s in PACKS.values())
    raise ModelError(f"{source} holds no known model pack (expected {expected})")


def _require(spec: PackSpec, names: set[str], source: Path) -> None:
    missing = [f for f, _ in spec.files if f not in names]
    if missing:
        raise ModelError(
            f"{source} has no {' and no '.join(missing)}: it is not a {spec.name} pack"
        )
