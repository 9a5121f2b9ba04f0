"""A profile's references, built from photos: the one clear face in each (large enough, sharp
enough, clearly the main face, the photo the right way up), embedded; photos that show someone
else, or the same photo twice, found; a profile re-embedded for another model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .errors import EnrollError, FileError, ProfileError
from .faces import DetectPlan, FaceAnalyzer, align
from .fingerprints import fingerprint_file
from .geometry import iou
from .match import thresholds_for
from .profiles import check_name
from .types import DecodedImage, Face, Profile, Reference

MIN_REFERENCE_HEIGHT = 80  # px, face box height in the original photo
MIN_SHARPNESS = 20.0  # variance of the Laplacian of the aligned 112 px face
DOMINANCE = 2.0  # the largest face must be this many times the area of the next one
# A re-embedded reference's face box against the one enrolled: another model's box for the
# same face overlaps it by about 0.8-0.9.
SAME_FACE_IOU = 0.5
SAME_PHOTO = 0.99  # one photo twice: a copy 1.0, saved as PNG 1.0, recompressed at 80 0.995

ENROLL_PLAN = DetectPlan(long_sides=(640, 1280))


def _area(face: Face) -> float:
    x1, y1, x2, y2 = face.box
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def sharpness(pixels: np.ndarray, face: Face, scale: float) -> float:
    """Variance of the Laplacian of the aligned face: low means blurred or featureless."""
    import cv2

    crop = align(pixels, face.landmarks / scale, 112)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def reference_from_photo(analyzer: FaceAnalyzer, photo: Path) -> Reference:
    """The one usable face in ``photo``, embedded; ``EnrollError`` saying what to do otherwise."""
    from .images import decode  # the decoders only where a photo is read
    from .turns import TURN_MARGIN, UPRIGHT, best_turn, turn_back

    name = photo.name
    try:
        image = decode(photo, max(ENROLL_PLAN.long_sides))
    except FileError as exc:
        raise EnrollError(f"cannot use {name}: {exc.reason}") from None
    faces = analyzer.detect(image, ENROLL_PLAN)
    # A face not found, or read poorly: a photo stored upside down or sideways without an EXIF
    # orientation, whose face read as is matches no photo of you (about 0) and would refuse
    # every later one as "unlike". (A group photo, a small or blurred face: said as they are.)
    # A lone face on its side has a box of the wrong shape for the size check: what is wrong
    # with it as stored is said only if no turn helps. (Several faces are refused at once.)
    refused: EnrollError | None = None
    try:
        ref = _reference(analyzer, image, name, faces) if faces else None
    except EnrollError as exc:
        if len(faces) > 1:
            raise
        ref, refused = None, exc
    if image.orientation == 1 and (ref is None or ref.quality < UPRIGHT):
        # Twice the margin a scan's turn needs: a reference turned wrongly would be worse
        # than one refused (upside down: 12 against 24 the right way up).
        stored = (ref.quality + TURN_MARGIN,) if ref is not None else ()
        turned = best_turn(analyzer, image, stored)
        if turned is not None:
            turns, upright = turned
            found = _reference(analyzer, upright, name, analyzer.detect(upright, ENROLL_PLAN))
            box = turn_back(found.face, turns, image.width, image.height).box
            ref = replace(found, face=replace(found.face, box=box))
    if ref is None and refused is not None:
        raise refused
    if ref is None:
        ref = _reference(analyzer, image, name, faces)  # says why: no face found
    return Reference(
        source=str(photo.resolve()),
        box=ref.face.box,
        det_score=ref.face.det_score,
        embedding=ref.embedding,
        fingerprint=_fingerprint(photo),
    )


@dataclass(frozen=True)
class _Found:
    face: Face
    embedding: NDArray[np.float32]
    quality: float  # how clear the face reads (see ``FaceAnalyzer.embed_scored``)


def _reference(analyzer: FaceAnalyzer, image: DecodedImage, name: str, faces: list[Face]) -> _Found:
    """The one usable face among ``faces`` (found in ``image``), embedded; ``EnrollError``
    saying what to do otherwise."""
    if not faces:
        raise EnrollError(
            f"no face found in {name}: use a photo where your face is clearly visible and at "
            f"least {MIN_REFERENCE_HEIGHT} px tall"
        )
    faces.sort(key=_area, reverse=True)
    if len(faces) > 1 and _area(faces[0]) < DOMINANCE * _area(faces[1]):
        raise EnrollError(
            f"{len(faces)} faces found in {name} and none clearly dominates: crop the photo to "
            "your face, or use a photo of you alone"
        )
    face = faces[0]
    if face.height < MIN_REFERENCE_HEIGHT:
        raise EnrollError(
            f"the face in {name} is only {face.height:.0f} px tall: use a photo where your face "
            f"is at least {MIN_REFERENCE_HEIGHT} px tall"
        )
    sharp = sharpness(image.pixels, face, image.scale)
    if sharp < MIN_SHARPNESS:
        raise EnrollError(
            f"the face in {name} is too blurry to be a good reference (sharpness {sharp:.0f}, "
            f"need {MIN_SHARPNESS:.0f}): use a sharper photo"
        )
    embedded, clarity = analyzer.embed_scored(image, [face])
    assert embedded[0].embedding is not None
    return _Found(face, embedded[0].embedding, clarity[0])


def build_profile(
    analyzer: FaceAnalyzer, photos: list[Path], name: str = "me", base: Profile | None = None
) -> Profile:
    """A profile from ``photos`` (added to ``base``, which must be of ``analyzer``'s model, when
    given). Every photo must be usable: an ``EnrollError`` names each one that is not."""
    check_name(name)
    if base is not None and base.model_id != analyzer.model_id:
        raise ProfileError(f"profile {name!r} was made with another model ({base.model_id})")
    refs = list(base.references) if base else []
    known = {r.source for r in refs}
    problems: list[str] = []
    for photo in photos:
        try:
            ref = reference_from_photo(analyzer, photo)
        except EnrollError as exc:
            problems.append(str(exc))
            continue
        if ref.source in known:
            refs = [r for r in refs if r.source != ref.source]
        refs.append(ref)
        known.add(ref.source)
    if len(problems) > 1:
        listed = "; ".join(f"({n}) {p}" for n, p in enumerate(problems, 1))
        raise EnrollError(
            f"{len(problems)} of {len(photos)} photos cannot be used, nothing was stored: {listed}"
        )
    if problems:
        raise EnrollError(problems[0])
    return Profile(name=name, model_id=analyzer.model_id, references=tuple(refs))


@dataclass(frozen=True)
class Unlike:
    """A reference photo that does not look like the same person as the profile's others."""

    source: str
    best: float  # its highest similarity to the owner's photos
    others: tuple[str, ...]  # the profile's photos it was judged against (see ``unlike``)


def unlike(profile: Profile, new: set[str], threshold: float) -> list[Unlike]:
    """The photos among ``new`` (sources) that are not one person with the rest of ``profile``.

    References are grouped by similarity at or above ``threshold`` (the match threshold: two
    photos of one person score above it, two people near 0), transitively, so photos of someone
    years apart still join through the photos between. A new photo is one person with the
    profile when its group holds an earlier photo (one not in ``new``; a group let in with
    ``--allow-unlike`` counts like any other), so earlier photos always win, however many new
    photos of someone else come; a profile of new photos only is its largest group's (the first
    photos' on a tie). A new photo outside those groups is returned, with its best similarity
    to them. Nothing is returned for a profile of one photo."""
    refs = profile.references
    if len(refs) < 2:
        return []
    emb = np.stack([r.embedding for r in refs]).astype(np.float32)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1.0)
    group = list(range(len(refs)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in zip(*np.nonzero(sims >= threshold), strict=True):
        group[root(int(i))] = root(int(j))
    members: dict[int, list[int]] = {}
    for i in range(len(refs)):
        members.setdefault(root(i), []).append(i)
    known = [m for m in members.values() if any(refs[i].source not in new for i in m)]
    if not known:
        known = [max(members.values(), key=lambda m: (len(m), -min(m)))]
    owner = sorted(i for m in known for i in m)
    others = tuple(refs[i].source for i in owner)
    return [
        Unlike(refs[i].source, float(sims[i, owner].max()), others)
        for i in range(len(refs))
        if i not in owner and refs[i].source in new
    ]


def same_photos(profile: Profile) -> tuple[Profile, list[tuple[str, str, float]]]:
    """``profile`` without the references that repeat an earlier one's photo under another name
    (a copy, or one converted or lightly recompressed: similarity ``SAME_PHOTO`` or more; a
    resized or mirrored copy scores about 0.97, two photos taken apart 0.4-0.9), and (repeat,
    earlier photo, similarity) for each removed."""
    kept: list[Reference] = []
    repeats: list[tuple[str, str, float]] = []
    for ref in profile.references:
        sims = [float(k.embedding @ ref.embedding) for k in kept]
        best = max(range(len(kept)), key=sims.__getitem__, default=None)
        if best is None or sims[best] < SAME_PHOTO:
            kept.append(ref)
        else:
            repeats.append((ref.source, kept[best].source, sims[best]))
    return Profile(profile.name, profile.model_id, tuple(kept)), repeats


def _fingerprint(photo: Path) -> str | None:
    try:
        return fingerprint_file(str(photo), photo.stat().st_size)
    except (OSError, FileError):
        return None


def for_model(profile: Profile, analyzer: FaceAnalyzer) -> Profile:
    """``profile`` in ``analyzer``'s embedding space: re-embedded from its source photos when it
    was made by another model."""
    if profile.model_id == analyzer.model_id:
        return profile
    missing = [r.source for r in profile.references if not Path(r.source).is_file()]
    if missing:
        raise ProfileError(
            f"profile {profile.name!r} was made with model {profile.model_id} and its photo "
            f"{missing[0]} is gone, so it cannot be re-embedded with {analyzer.model_id}: "
            f"remove it with 'selfscan forget --profile {profile.name} --photo {missing[0]}'"
            + (f" (and {len(missing) - 1} more gone)" if len(missing) > 1 else "")
        )
    # A photo replaced under its name since it was enrolled would make the profile someone
    # else's (a profile of one photo has no other photo to tell it by).
    for ref in profile.references:
        if ref.fingerprint is not None and _fingerprint(Path(ref.source)) != ref.fingerprint:
            raise _changed(
                profile, analyzer, ref.source, "is no longer the file enrolled (it changed since)"
            )
    try:
        built = build_profile(analyzer, [Path(r.source) for r in profile.references], profile.name)
    except EnrollError as exc:
        raise ProfileError(
            f"profile {profile.name!r} was made with model {profile.model_id}, and one of its "
            f"earlier photos cannot be re-embedded with {analyzer.model_id} ({exc}): remove it "
            f"with 'selfscan forget --profile {profile.name} --photo PHOTO'"
        ) from None
    # For a profile saved before fingerprints were kept: the face re-embedded must be where the
    # one enrolled was, and the photos must be as much one person as they were (a group let in
    # with --allow-unlike stays one of its own).
    sources = {r.source for r in profile.references}

    def odd(p: Profile) -> set[str]:
        cut = thresholds_for(p.model_id.partition(":")[0]).match
        return {u.source for u in unlike(p, sources, cut)}

    for old, new in zip(profile.references, built.references, strict=True):
        if iou(old.box, new.box) < SAME_FACE_IOU:
            raise _changed(
                profile,
                analyzer,
                old.source,
                "no longer shows the face enrolled from it (the file changed)",
            )
    changed = sorted(odd(built) - odd(profile))
    if changed:  # which photo of a pair changed cannot be told: both are named
        names = ", ".join(Path(s).name for s in sorted(sources))
        raise ProfileError(
            f"profile {profile.name!r} was made with model {profile.model_id}; re-embedded with "
            f"{analyzer.model_id}, its photos ({names}) no longer look like one person, as they "
            f"did, so a photo changed since it was enrolled (not like the rest now: "
            f"{', '.join(Path(s).name for s in changed)}): remove it with 'selfscan forget "
            f"--profile {profile.name} --photo PHOTO', then enroll it again if it is you"
        )
    return built


def _changed(profile: Profile, analyzer: FaceAnalyzer, source: str, how: str) -> ProfileError:
    """Why ``profile``'s photo ``source`` cannot be re-embedded: it changed since (``how``)."""
    return ProfileError(
        f"profile {profile.name!r} was made with model {profile.model_id}, and its photo "
        f"{source} {how}, so it cannot be re-embedded with {analyzer.model_id}: remove it with "
        f"'selfscan forget --profile {profile.name} --photo {source}', then enroll it again if "
        "it is you"
    )
