"""Which way up a photo is: a photo stored sideways or upside down without an EXIF orientation
shows faces the detector finds but the recognizer cannot read (an upside-down face scores about
0 against the same person), or none at all. Scans and ``enroll`` turn such a photo the right way
up; the faces found are mapped back to the photo as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from .faces import DetectPlan, FaceAnalyzer
from .geometry import landmark_span
from .types import DecodedImage, Face

# How clear a face reads is the length of its embedding before normalising
# (``FaceAnalyzer.embed_scored``). Measured on the labelled and sample photos: a face with an
# eye-to-mouth span of at least 20 px reads 21-29 the right way up; turned upside down 9-20;
# on its side 9-27 (those that read over 20 on their side mostly match anyway).
#
# The detector's landmarks turn with a face on its side (its mouth beside its eyes), not with
# one upside down (they are placed as if it were upright: it reads unclear instead).
#
# Which photos are looked at turned (only those without an EXIF orientation):
# - default: those with a face to embed that is on its side, or at least UNCLEAR_SPAN px eye to
#   mouth and reading less clear than UNCLEAR; and, upside down only, those with no face to
#   embed (the detector misses most upside-down faces, and finds sideways ones);
# - --thorough: those a default scan looks at (its rows replace a default scan's), and those
#   whose clearest face reads less clear than UPRIGHT, no face found included.
UPRIGHT = 26.0
TURNED = 20.0
UNCLEAR_SPAN = 20.0
UNCLEAR = 18.0
# A turn wins when it shows more faces reading at least TURNED clear than the photo as stored
# (at least one there), or a clearest face at least TURNED clear and TURN_MARGIN clearer. Each
# turn is first looked at with GLANCE (a 960 px pass instead of the full plan): 15% more time
# for --thorough on photos the right way up (1.71 against 1.49 s per 12 MP photo, one core).
TURN_MARGIN = 3.0
GLANCE = DetectPlan(long_sides=(320, 960))
EVERY_TURN = (1, 2, 3)
UPSIDE_DOWN = (2,)


def turns_to_try(
    mode: str, image: DecodedImage, faces: Sequence[Face], clarity: Sequence[float]
) -> tuple[int, ...]:
    """The quarter turns (clockwise) worth a look for a photo analysed as stored, whose
    ``faces`` read ``clarity`` clear (0 for a face too small to embed)."""
    if image.orientation != 1 or mode == "quick":
        return ()
    unclear = any(_turned_face(f, c) for f, c in zip(faces, clarity, strict=True))
    if mode == "thorough":  # whatever a default scan turns, and more (its rows replace those)
        return EVERY_TURN if unclear or max(clarity, default=0.0) < UPRIGHT else ()
    if not any(clarity):
        return UPSIDE_DOWN
    return EVERY_TURN if unclear else ()


def _standing(clarity: Sequence[float]) -> tuple[int, float]:
    """How many faces read at least TURNED clear, and the clearest one's clarity."""
    return sum(c >= TURNED for c in clarity), max(clarity, default=0.0)


def _turned_face(face: Face, clarity: float) -> bool:
    """Whether an embedded face looks turned: on its side, or large and unclear."""
    if clarity <= 0:
        return False
    large = landmark_span(face.landmarks) >= UNCLEAR_SPAN
    return not _upright(face) or (large and clarity < UNCLEAR)


def _upright(face: Face) -> bool:
    """Whether the face's mouth lies below its eyes (within 45 degrees of straight down)."""
    return _way_up(face) == 0


def sideways_turn(faces: Sequence[Face], clarity: Sequence[float]) -> int | None:
    """The quarter turns (clockwise) that put a photo's embedded faces the right way up, going
    by their landmarks, when they read clearly on their side as stored (the alignment turns them
    upright for the recogniser, so nothing needs turning to read them): to show the photo.
    Every face read must agree: one face lying down among upright ones turns nothing."""
    ways = {_way_up(f) for f, c in zip(faces, clarity, strict=True) if c}
    if len(ways) != 1:
        return None
    return ways.pop() or None  # 0: upright already


def _way_up(face: Face) -> int:
    """The quarter turns (clockwise) that stand a face up, by its landmarks."""
    eyes = (face.landmarks[0] + face.landmarks[1]) / 2
    mouth = (face.landmarks[3] + face.landmarks[4]) / 2
    down, across = float(mouth[1] - eyes[1]), float(mouth[0] - eyes[0])
    if down > abs(across):
        return 0
    if abs(across) >= abs(down):  # its chin points right: a quarter turn clockwise stands it up
        return 1 if across > 0 else 3
    return 2


def _clearer(seen: Sequence[float], stored: Sequence[float]) -> bool:
    clear, best = _standing(seen)
    clear_stored, best_stored = _standing(stored)
    return clear > clear_stored > 0 or best >= max(best_stored + TURN_MARGIN, TURNED)


# cv2 rotation codes by clockwise quarter turns.
_ROTATE = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


def best_turn(
    analyzer: FaceAnalyzer,
    image: DecodedImage,
    clarity: Sequence[float],
    tried: Sequence[int] = EVERY_TURN,
) -> tuple[int, DecodedImage] | None:
    """The quarter turn (clockwise) among ``tried`` that shows a photo's faces the right way up,
    and the photo so turned, or None when it is the right way up as it is (its faces read
    ``clarity`` clear). Each turn gets a quick look (``GLANCE``); of the turns clearer than the
    photo as stored, the one with the most clear faces wins, then the one with the clearest."""
    best, best_standing = None, (0, 0.0)
    for turns in tried:
        width, height = (image.height, image.width) if turns % 2 else (image.width, image.height)
        turned = DecodedImage(
            np.ascontiguousarray(cv2.rotate(image.pixels, _ROTATE[turns])),
            image.scale,
            width,
            height,
        )
        glance = analyzer.detect(turned, GLANCE)
        glance, seen = analyzer.embed_scored(turned, glance) if glance else ([], [])
        # A face still on its side in this turn can read as clearly as it does upright (its
        # landmarks turned with it): only faces the right way up count for the turn.
        seen = [c for f, c in zip(glance, seen, strict=True) if _upright(f)]
        standing = _standing(seen)
        if _clearer(seen, clarity) and standing > best_standing:
            best, best_standing = (turns, turned), standing
    return best


def turn_point(
    points: NDArray[np.float32], turns: int, width: int, height: int
) -> NDArray[np.float32]:
    """Map ``points`` (N x 2) found in an image turned clockwise by ``turns`` quarter turns back
    to the unturned ``width`` x ``height`` image."""
    x, y = points[:, 0], points[:, 1]
    if turns == 1:  # (x, y) -> (height - y, x)
        back = (y, height - x)
    elif turns == 2:  # (x, y) -> (width - x, height - y)
        back = (width - x, height - y)
    else:  # (x, y) -> (y, width - x)
        back = (width - y, x)
    return np.stack(back, axis=1).astype(np.float32)


def turn_back(face: Face, turns: int, width: int, height: int) -> Face:
    x1, y1, x2, y2 = face.box
    corners = turn_point(np.array([[x1, y1], [x2, y2]], np.float32), turns, width, height)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    landmarks = turn_point(face.landmarks, turns, width, height)
    return replace(face, box=box, landmarks=landmarks)
