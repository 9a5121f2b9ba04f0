"""Enrolment: building or extending a stored profile from photos of you, and the checks that
keep a profile one person (``enroll``, and ``find --me`` with ``--save-profile``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import lock
from .config import data_dir, ensure_data_dir, refuse_url
from .devices import check_device
from .errors import EnrollError, ProfileError
from .faces import FaceAnalyzer
from .match import thresholds_for
from .models import active_pack_name, load_pack
from .profiles import load_profile, profile_exists, profile_path, save_profile
from .references import SAME_PHOTO, Unlike, build_profile, for_model, same_photos, unlike
from .types import Profile


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
    check_photos(photos)
    check_device(device)
    analyzer = FaceAnalyzer(load_pack(), device)
    # A forget meanwhile must not be undone by this save (the data dir made first: the lock
    # is on it, and two first enrolls at once must take turns too).
    made = not data_dir().exists()
    try:
        with lock.profiles_held(ensure_data_dir()):
            return _enroll(analyzer, photos, name, allow_unlike)
    except BaseException:
        if made:  # nothing was stored: leave no empty data dir behind (it holds nothing to list)
            with contextlib.suppress(OSError):
                data_dir().rmdir()
        raise


def _enroll(analyzer: FaceAnalyzer, photos: list[Path], name: str, allow_unlike: bool) -> Enrolled:
    notes: list[str] = []
    name = profile_path(name).stem  # "Me" adds to a stored "me"
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
        raise EnrollError(unlike_message(odd, cut) + _UNLIKE_HELP)
    notes += [unlike_message([u], cut) for u in odd]
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


def unlike_message(odd: list[Unlike], cut: float) -> str:
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


def check_photos(photos: list[Path]) -> None:
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


def refuse_another_person(profile: Profile, cut: float) -> None:
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


def saved_note(profile: Profile) -> str:
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
