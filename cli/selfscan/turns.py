"""Which way up a photo is: a photo stored sideways or upside down without an EXIF orientation
shows faces the detector finds but the recognizer cannot read (an upside-down face scores about
0 against the same person). ``--thorough`` scans and ``enroll`` turn such a photo the right way
up; the faces found are mapped back to the photo as stored.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from .faces import DetectPlan, FaceAnalyzer
from .types import DecodedImage, Face

# --thorough turns a photo without an EXIF orientation when its clearest face is less clear
# than this (the length of its embedding before normalising; upright faces of the sample photos:
# 24-29; turned upside down: 13-17; on their side: 21-25), if a turn shows a face at least
# TURNED clear and TURN_MARGIN clearer than the photo as stored. Each turn is first looked at
# with GLANCE (a 960 px pass instead of the full plan): 15% more time for --thorough on
# photos the right way up (1.71 against 1.49 s per 12 MP photo, one core).
UPRIGHT = 26.0
TURNED = 20.0
TURN_MARGIN = 3.0
GLANCE = DetectPlan(long_sides=(320, 960))


# cv2 rotation codes by clockwise quarter turns.
_ROTATE = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


def best_turn(
    analyzer: FaceAnalyzer, image: DecodedImage, quality: float
) -> tuple[int, DecodedImage] | None:
    """The quarter turn (clockwise) that shows a photo's faces the right way up, and the photo so
    turned, or None when it is the right way up as it is. Each turn gets a quick look
    (``GLANCE``); the turn whose clearest face is clearest (``FaceAnalyzer.embed_scored``) wins
    if it beats the photo as stored (``quality``) by ``TURN_MARGIN`` and shows a face at least
    ``TURNED`` clear."""
    best, best_quality = None, max(quality + TURN_MARGIN, TURNED)
    for turns, code in _ROTATE.items():
        width, height = (image.height, image.width) if turns % 2 else (image.width, image.height)
        turned = DecodedImage(
            np.ascontiguousarray(cv2.rotate(image.pixels, code)), image.scale, width, height
        )
        glance = analyzer.detect(turned, GLANCE)
        seen = analyzer.embed_scored(turned, glance)[1] if glance else 0.0
        if seen > best_quality:
            best, best_quality = (turns, turned), seen
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
