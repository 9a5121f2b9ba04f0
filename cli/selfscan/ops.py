"""What each command does, as library calls that return data (the CLI only parses and renders)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import lock
from .config import data_dir
from .devices import refuse_uninstalled
from .enrolment import (  # noqa: F401  (enroll and Enrolled are part of this module's API)
    Enrolled,
    check_photos,
    enroll,
    refuse_another_person,
    saved_note,
    unlike_message,
)
from .errors import EnrollError, InputError
from .faces import FaceAnalyzer
from .index import Index, open_index
from .locate import split_path
from .match import Thresholds, thresholds_for
from .models import active_pack_name, load_pack, vectron_model_dir
from .profiles import load_profile, save_profile
from .references import build_profile, for_model, unlike
from .scan import Progress, ScanOptions, check_paths, scan
from .types import FileResult, Profile
from .workers import cpu_cores, default_workers


@dataclass
class FindRequest:
    """Everything ``find`` needs; defaults match the CLI's."""

    paths: list[Path]
    me: list[Path] = field(default_factory=list)
    profile: str = "me"
    save_profile: bool = False
    threshold: float | None = None
    mode: str = "default"
    workers: int | None = None
    device: str = "auto"
    store: bool = True
    model: str | None = None
    skip: list[Path] = field(default_factory=list)  # folders not to walk (--copy-to's)


@dataclass
class FindSession:
    """A prepared scan: the profile, the models and the index, ready to iterate."""

    request: FindRequest
    profile: Profile
    thresholds: Thresholds
    analyzer: FaceAnalyzer
    index: Index
    notes: list[str] = field(default_factory=list)
    progress: Progress = field(default_factory=Progress)

    def results(
        self, on_progress: Callable[[Progress], None] | None = None
    ) -> Iterator[FileResult]:
        req = self.request
        workers = req.workers if req.workers is not None else default_workers(req.mode)
        return scan(
            req.paths,
            self.profile,
            self.analyzer.pack,
            self.thresholds,
            self.index,
            ScanOptions(
                mode=req.mode,
                workers=workers,
                device=req.device,
                skip=tuple(os.path.abspath(p) for p in req.skip),
            ),
            on_progress,
            analyzer=self.analyzer,
            progress=self.progress,
        )

    def close(self) -> None:
        self.index.close()


@dataclass(frozen=True)
class OrganiseRequest:
    """Where and how to gather matched photos."""

    dest: Path
    mode: str = "copy"
    xmp: bool = False


def prepare_destination(req: OrganiseRequest, scanned: Sequence[Path] = ()) -> None:
    """Create ``req.dest`` now, or raise why it cannot be used, before any scanning: a folder
    among the ``scanned`` paths cannot be the one matches are gathered into (that folder is
    never scanned)."""
    from .organise import prepare_destination

    flag = "--copy-to" if req.mode == "copy" else "--link-to"
    for path in scanned:
        with contextlib.suppress(OSError):
            if path.is_dir() and os.path.samefile(path, req.dest):
                raise InputError(
                    f"{path} is the {flag} folder: matches are gathered there, so it is not "
                    f"scanned; give {flag} another folder"
                )
    prepare_destination(req.dest)


def hard_links(req: OrganiseRequest) -> dict[tuple[int, int], Path]:
    """The files in ``req.dest`` that are hard links, placed by ``--link-to`` (see
    ``stale_link``)."""
    from .destnames import hard_links

    return hard_links(req.dest)


def stale_link(links: dict[tuple[int, int], Path], result: FileResult) -> Path | None:
    """The gathered hard link to ``result``'s file when the file no longer shows you (changed
    in place since it was gathered: a link shows what its original shows), else None."""
    if not links or result.status not in ("no_match", "no_face", "error"):
        return None
    if split_path(result.path)[1] is not None:  # an archive member: never linked
        return None
    from .destnames import linked_from

    return linked_from(links, result.path)


def organise_matches(
    results: list[FileResult], req: OrganiseRequest, threshold: float, person: str
) -> list[Any]:
    """Copy or link matched photos into ``req.dest`` (with XMP sidecars when asked)."""
    from .organise import organise

    return organise(results, req.dest, req.mode, req.xmp, person, threshold=threshold)  # type: ignore[arg-type]


def prepare_find(req: FindRequest) -> FindSession:
    """Resolve the profile (from --me photos or a stored one), the models and the index."""
    check_paths(req.paths)
    if req.mode not in ("quick", "default", "thorough"):
        raise InputError(f"unknown mode {req.mode!r}")
    notes: list[str] = []
    if req.workers is not None and req.workers < 1:
        raise InputError("--workers must be at least 1")
    if req.workers is not None and req.workers > (cores := cpu_cores()):
        # Each worker holds its own models (about 400 MiB): more than the cores only compete.
        notes.append(f"--workers {req.workers}: using {cores}, one per core")
        req = replace(req, workers=cores)
    # --device cuda without onnxruntime-gpu is refused at once, even if nothing needs a model;
    # whether CUDA runs is tried when a file first needs the models.
    refuse_uninstalled(req.device)
    thresholds = thresholds_for(req.model or active_pack_name(), req.threshold)
    pack = load_pack(req.model)
    analyzer = FaceAnalyzer(pack, req.device)
    # Whether photos are one person is the calibrated threshold's call, whatever --threshold
    # asks of matches (0.8 called two photos of one man two people; 0.05 saved two people).
    one_person = thresholds_for(req.model or active_pack_name()).match
    save: Profile | None = None  # the profile to store, once the scan lock is held
    replacing = False  # --save-profile: refused over a profile of someone else
    if req.me:
        check_photos(req.me)
        profile = build_profile(analyzer, req.me, req.profile)
        odd = unlike(profile, {r.source for r in profile.references}, one_person)
        if odd and req.save_profile and req.store:
            raise EnrollError(
                unlike_message(odd, one_person) + ". A profile is one person, you: not "
                "saved (if they are all you, 'selfscan enroll --allow-unlike' stores them)"
            )
        if odd:  # one-off: said, not refused (matches will include each person)
            notes.append(unlike_message(odd, one_person) + "; faces like any of them match")
        if req.save_profile and req.store:
            save, replacing = profile, True
    else:
        stored = load_profile(req.profile)
        profile = for_model(stored, analyzer)
        if profile is not stored:
            notes.append(
                f"profile {stored.name!r} was made with {stored.model_id}; re-embedded its "
                f"photos with {pack.model_id}"
            )
            if req.store:
                save = profile
    # The scan lock first: a find refused because another scan runs must change nothing.
    index = open_index(req.store)
    if save is not None:
        try:
            with lock.profiles_held(data_dir()):
                if replacing:
                    refuse_another_person(save, one_person)
                    notes.append(saved_note(save))
                else:
                    save_profile(save)
        except BaseException:
            index.close()
            raise
    return FindSession(req, profile, thresholds, analyzer, index, notes)


def demo_library(dest: Path) -> dict[str, Path]:
    """Copy the sample photos shipped with the installed packages into ``dest``; returns the
    reference photo and the library folder."""
    vectron = vectron_model_dir()
    spec = importlib.util.find_spec("insightface")
    if vectron is None or spec is None or not spec.submodule_search_locations:
        raise InputError("the sample photos are missing: reinstall selfscan's dependencies")
    images = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    library = dest / "library"
    library.mkdir(parents=True)
    for src in [
        vectron / "players.jpg",
        vectron / "gdp.jpg",
        *sorted(images.glob("*.jpg")),
        *sorted(images.glob("*.png")),
    ]:
        if src.is_file():
            shutil.copyfile(src, library / src.name)
    return {"me": vectron / "yaoming.jpg", "library": library}


def demo_tempdir() -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder for the demo library."""
    return tempfile.TemporaryDirectory(prefix="selfscan-demo-")
