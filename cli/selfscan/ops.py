"""What each command does, as library calls that return data (the CLI only parses and renders)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import lock
from .config import data_dir, ensure_data_dir, refuse_url
from .errors import EnrollError, InputError, ProfileError
from .faces import FaceAnalyzer
from .index import Index, open_index
from .locate import split_path
from .match import Thresholds, thresholds_for
from .models import (
    active_pack_name,
    check_device,
    load_pack,
    providers_for,
    vectron_model_dir,
)
from .profiles import load_profile, profile_exists, save_profile
from .references import SAME_PHOTO, Unlike, build_profile, for_model, same_photos, unlike
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


def prepare_destination(req: OrganiseRequest) -> None:
    """Create ``req.dest`` now, or raise why it cannot be used, before any scanning."""
    from .organise import prepare_destination

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


@dataclass
class Enrolled:
    """What ``enroll`` did: the saved profile, its file, how many of the photos it held already
    (their references are renewed, not added), notes for the user, and how many photos were
    not added because they repeat one in the profile."""

    profile: Profile
    path: Path
    already: int
    notes: list[str]
    repeats: int = 0  # photos not added: the same photo as one in the profile


def enroll(
    photos: list[Path], name: str = "me", device: str = "auto", allow_unlike: bool = False
) -> Enrolled:
    """Build or extend the stored profile ``name`` from ``photos``. A photo that does not look
    like the same person as the others is refused (an ``EnrollError`` naming it) unless
    ``allow_unlike``; a profile made with another model is re-embedded from its photos first."""
    _check_photos(photos)
    check_device(device)
    analyzer = FaceAnalyzer(load_pack(), device)
    # A forget meanwhile must not be undone by this save (the data dir made first: the lock
    # is on it, and two first enrolls at once must take turns too).
    with lock.profiles_held(ensure_data_dir()):
        return _enroll(analyzer, photos, name, allow_unlike)


def _enroll(analyzer: FaceAnalyzer, photos: list[Path], name: str, allow_unlike: bool) -> Enrolled:
    notes: list[str] = []
    base = load_profile(name) if profile_exists(name) else None  # unreadable: said, not replaced
    if base is not None and base.model_id != analyzer.model_id:
        base = for_model(base, analyzer)  # a photo gone or unusable: said, with the fix
        notes.append(
            f"profile {name!r} was made with another model; re-embedded its "
            f"{len(base.references)} earlier photo{'s' if len(base.references) != 1 else ''} "
            f"with {analyzer.model_id}"
        )
    profile, repeats = same_photos(build_profile(analyzer, photos, name, base))
    notes += [
        f"{Path(copy).name} is the same photo as {Path(first).name} (similarity {sim:.2f}): "
        "not added again"
        for copy, first, sim in repeats
    ]
    new = {str(p.resolve()) for p in photos}
    before = {r.source for r in base.references} if base else set()
    cut = thresholds_for(active_pack_name()).match
    # A photo already in the profile, still the same picture, is renewed, not judged again: it
    # was let in before (with --allow-unlike, perhaps). One replaced by another picture under
    # the same name is judged as a new one.
    unchanged = _unchanged(base, profile)
    # A replaced photo is judged against the profile as it was, its own earlier picture too
    # (a profile of that one photo would otherwise have nothing to judge it by).
    earlier = tuple(
        replace(r, source=f"{r.source} (as enrolled before)")
        for r in (base.references if base else ())
        if r.source in (new & before) - unchanged
    )
    check = Profile(profile.name, profile.model_id, profile.references + earlier)
    odd = unlike(check, new - unchanged, cut)
    if odd and not allow_unlike:
        raise EnrollError(_unlike_message(odd, cut) + _UNLIKE_HELP)
    notes += [_unlike_message([u], cut) for u in odd]
    return Enrolled(profile, save_profile(profile), len(new & before), notes, len(repeats))


def _unchanged(base: Profile | None, profile: Profile) -> set[str]:
    """The photos of ``base`` whose new reference in ``profile`` is the same picture's."""
    if base is None:
        return set()
    stored = {r.source: r.embedding for r in base.references}
    return {
        r.source
        for r in profile.references
        if r.source in stored and float(np.dot(stored[r.source], r.embedding)) >= SAME_PHOTO
    }


_UNLIKE_HELP = (
    ". A profile is one person, you: enroll only photos of yourself (nothing was stored; a photo "
    "of several people gives its largest face: crop it to yours); if it is you, years apart "
    "say, add --allow-unlike"
)


def _unlike_message(odd: list[Unlike], cut: float) -> str:
    """Which photos do not look like the profile's others, and how far off they are."""
    lines = []
    for u in odd:
        alike = ", ".join(Path(s).name for s in u.others[:3])
        more = f" and {len(u.others) - 3} more" if len(u.others) > 3 else ""
        lines.append(
            f"{Path(u.source).name} does not look like the same person as {alike}{more} "
            f"(similarity at most {u.best:.2f}; the same person scores from about {cut:.2f})"
        )
    return "; ".join(lines)


def _check_photos(photos: list[Path]) -> None:
    """Every photo given must be a file: each one that is not is named, in one error."""
    problems = []
    for p in photos:
        refuse_url(str(p))
        if not p.exists():
            problems.append(f"{p} does not exist")
        elif not p.is_file():
            problems.append(f"{p} is not a file")
    if problems:
        raise EnrollError("; ".join(problems))


def _refuse_another_person(profile: Profile, cut: float) -> None:
    """An ``EnrollError`` when ``--save-profile`` would replace a stored profile with photos of
    someone else (a one-off check of another person must not wipe yours)."""
    if not profile_exists(profile.name):
        return
    stored = load_profile(profile.name)
    if stored.model_id != profile.model_id:
        return  # not comparable; the note says what it replaces
    both = Profile(profile.name, profile.model_id, stored.references + profile.references)
    new = {r.source for r in profile.references} - {r.source for r in stored.references}
    if new and len(unlike(both, new, cut)) == len(new):
        raise EnrollError(
            f"the --me photos do not look like the person in profile {profile.name!r}: not "
            f"saved over it (to start it again, 'selfscan forget --profile {profile.name}' "
            "first; to add photos, 'selfscan enroll')"
        )


def _saved_note(profile: Profile) -> str:
    """Save ``profile`` (the --me photos) under its name and say so, and what it replaced."""
    try:
        before = len(load_profile(profile.name).references)
    except ProfileError:
        before = 0
    where = save_profile(profile)
    if not before:
        return f"profile {profile.name!r} saved to {where}"
    return (
        f"profile {profile.name!r} replaced (it had {before} reference photo"
        f"{'s' if before != 1 else ''}; 'selfscan enroll' adds photos to a profile instead)"
    )


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
    check_device(req.device)
    if req.device == "cuda":  # asked for by name: refused at once, even if nothing needs a model
        providers_for(req.device)
    thresholds = thresholds_for(req.model or active_pack_name(), req.threshold)
    pack = load_pack(req.model)
    analyzer = FaceAnalyzer(pack, req.device)
    # Whether photos are one person is the calibrated threshold's call, whatever --threshold
    # asks of matches (0.8 called two photos of one man two people; 0.05 saved two people).
    one_person = thresholds_for(req.model or active_pack_name()).match
    save: Profile | None = None  # the profile to store, once the scan lock is held
    replacing = False  # --save-profile: refused over a profile of someone else
    if req.me:
        _check_photos(req.me)
        profile = build_profile(analyzer, req.me, req.profile)
        odd = unlike(profile, {r.source for r in profile.references}, one_person)
        if odd and req.save_profile and req.store:
            raise EnrollError(
                _unlike_message(odd, one_person) + ". A profile is one person, you: not "
                "saved (if they are all you, 'selfscan enroll --allow-unlike' stores them)"
            )
        if odd:  # one-off: said, not refused (matches will include each person)
            notes.append(_unlike_message(odd, one_person) + "; faces like any of them match")
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
                    _refuse_another_person(save, one_person)
                    notes.append(_saved_note(save))
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
