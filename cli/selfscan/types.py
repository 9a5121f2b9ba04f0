"""Frozen dataclasses that cross module boundaries.

Everything outside ``faces.py`` and ``models.py`` sees these types, never insightface's objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Status = Literal["match", "possible", "no_match", "no_face", "error"]
STATUSES: tuple[Status, ...] = ("match", "possible", "no_match", "no_face", "error")

Box = tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """One image decoded for detection, upright (EXIF orientation applied).

    ``pixels`` may be smaller than the original: multiply a pixel coordinate by ``scale`` and add
    ``origin`` to get the coordinate in the original upright image of ``width`` x ``height``
    pixels. ``origin`` is not (0, 0) only for a window of the image (``images.decode_window``),
    made to embed faces from, never to detect in.
    """

    pixels: NDArray[np.uint8]  # H x W x 3, BGR, contiguous
    scale: float
    width: int
    height: int
    orientation: int = 1  # EXIF orientation that was applied (1 = none)
    format: str = ""
    origin: tuple[float, float] = (0.0, 0.0)
    # Makes the full-resolution image from pixels decoded already, where this one was decoded
    # whole and then reduced (formats without reduced decoding); None otherwise.
    whole: Callable[[], DecodedImage] | None = None


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face in original upright pixel coordinates."""

    box: Box
    landmarks: NDArray[np.float32]  # 5 x 2: eyes, nose, mouth corners
    det_score: float
    embedding: NDArray[np.float32] | None = None  # L2-normalised; None when not embedded
    time: float | None = None  # seconds into a video; None for photos

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class FaceHit:
    """A face in a scan result, with its similarity to the profile (None if not comparable)."""

    box: Box
    det_score: float
    similarity: float | None
    time: float | None = None  # seconds into a video (the sampled frame); None for photos


def most_in_a_frame(faces: Iterable[FaceHit]) -> int:
    """How many of ``faces`` one photo, or one sampled frame of a video, holds at most: a
    video's faces come once per frame, so the same person seen in ten frames is one face."""
    frames: dict[float | None, int] = {}
    for f in faces:
        frames[f.time] = frames.get(f.time, 0) + 1
    return max(frames.values(), default=0)


@dataclass(frozen=True)
class FileResult:
    """The outcome for one scanned item (a file, an archive member or a video)."""

    path: str
    status: Status
    score: float | None = None
    faces: tuple[FaceHit, ...] = ()
    error: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int = 1
    facts: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None  # of the content analysed (``fingerprints``): copies check it

    @property
    def face_count(self) -> int:
        """How many faces the item shows: for a video, the most found in one sampled frame (its
        faces come once per frame, so the same person seen in ten frames is one face)."""
        return most_in_a_frame(self.faces)

    @property
    def turned(self) -> int:
        """The degrees (clockwise: 90, 180, 270) that show a photo stored turned without an
        orientation tag the right way up (``facts.photo.turned``); 0 for the others."""
        photo = self.facts.get("photo")
        turned = photo.get("turned") if isinstance(photo, dict) else None
        return turned if turned in (90, 180, 270) else 0

    @property
    def best_face(self) -> FaceHit | None:
        """The face the score comes from (the most similar one), or None."""
        if self.score is None:
            return None
        return next((f for f in self.faces if f.similarity == self.score), None)


@dataclass(frozen=True, eq=False)
class Reference:
    """One enrolled photo of the profile's owner."""

    source: str
    box: Box
    det_score: float
    embedding: NDArray[np.float32]
    # The photo file's fingerprint when enrolled (None in profiles saved before it was kept):
    # another model pack re-embeds the photo only if it is still that file.
    fingerprint: str | None = None


@dataclass(frozen=True, eq=False)
class Profile:
    """A named set of reference embeddings made by one model."""

    name: str
    model_id: str
    references: tuple[Reference, ...]

    @property
    def embeddings(self) -> NDArray[np.float32]:
        if not self.references:
            return np.zeros((0, 512), dtype=np.float32)
        return np.stack([r.embedding for r in self.references]).astype(np.float32)


@dataclass(frozen=True)
class ScanSummary:
    """Counts for one finished (or interrupted) scan."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    faces: int = 0
    cached: int = 0  # answered by the index
    copies: int = 0  # identical to an item met earlier in the scan: analysed once
    seconds: float = 0.0
    interrupted: bool = False
    # What the walk of the folders left out: hidden_files, hidden_folders, other (by extension),
    # library_copies (a Photos library's copies of photos read elsewhere), library_files (its
    # own files of other types), gathered (folders of matches an earlier --copy-to filled).
    left_out: dict[str, Any] = field(default_factory=dict)
    # What --copy-to/--link-to placed: folder, placed, linked, already_there, identical (to
    # another match of the scan), not_placed, and files (each match: path, how, dest, error);
    # None when not asked.
    gathered: dict[str, Any] | None = None


ItemKind = Literal["image", "video"]


@dataclass(frozen=True, eq=False)
class Item:
    """One thing to scan, found by ``sources``: a file, or a member of an archive.

    ``path`` is what every output shows: the file's path, or ``archive.zip!/inner/path.jpg`` for an
    archive member (``outer.zip!/inner.zip!/x.jpg`` one level nested). ``fs_path`` is set for plain
    files. ``read`` returns the bytes of an archive member; it is valid only until the iterator
    that produced the item advances. ``error`` is set when discovery already knows the item is bad
    (a dangling symlink, a hostile archive member); such an item is reported, never opened.
    ``facts`` holds metadata from the export around it (see ``exports``), under the key ``source``.
    ``stamp`` tells content changes that keep the size and mtime apart: ``ino:ctime_ns`` for a
    file (an in-place edit that restores the mtime still changes the ctime), ``crc:XXXXXXXX`` for
    a zip member, ``tar:...`` for a tar member (its archive's identity: a tar has no checksum per
    member, so when the archive changed the member's content is compared).
    """

    path: str
    size: int
    mtime_ns: int
    kind: ItemKind = "image"
    fs_path: str | None = None
    read: Callable[[], bytes] | None = None
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    stamp: str | None = None


@dataclass(frozen=True, eq=False)
class Analysis:
    """What the models saw in one item, before comparing with any profile. This is what the
    index stores, so a profile can be matched again without detection."""

    faces: tuple[Face, ...] = ()
    width: int | None = None
    height: int | None = None
    orientation: int = 1
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    # An error that may not happen again (see ``FileError.transient``): reported, never stored.
    transient: bool = False


@dataclass(frozen=True)
class Job:
    """What a worker needs to analyse one item (small to pickle: a path, or member bytes)."""

    kind: ItemKind
    mode: str
    size: int
    mtime_ns: int
    fs_path: str | None = None
    data: bytes | None = None
    fingerprint: str | None = None
