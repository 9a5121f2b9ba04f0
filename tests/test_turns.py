"""Which photos a scan looks at turned, and which turn wins: the pure logic, on made-up
clarities (the real models' behaviour on turned photos is in test_faces.py)."""

from __future__ import annotations

import numpy as np
import pytest

from selfscan.turns import (
    EVERY_TURN,
    TURN_MARGIN,
    TURNED,
    UNCLEAR,
    UNCLEAR_SPAN,
    UPRIGHT,
    UPSIDE_DOWN,
    _clearer,
    sideways_turn,
    turns_to_try,
)
from selfscan.types import DecodedImage, Face


def _face(span: float) -> Face:
    """A face whose eye-to-mouth span is ``span`` px."""
    eyes, mouth = 100.0, 100.0 + span
    landmarks = np.array(
        [[90, eyes], [110, eyes], [100, (eyes + mouth) / 2], [92, mouth], [108, mouth]], np.float32
    )
    return Face((80.0, eyes - span, 120.0, mouth + span), landmarks, 0.9)


def _sideways(span: float) -> Face:
    """A face on its side: its mouth beside its eyes, as the detector marks such a face."""
    eyes, mouth = 100.0, 100.0 + span
    landmarks = np.array(
        [[eyes, 110], [eyes, 90], [(eyes + mouth) / 2, 100], [mouth, 108], [mouth, 92]], np.float32
    )
    return Face((eyes - span, 80.0, mouth + span, 120.0), landmarks, 0.9)


def _image(orientation: int = 1) -> DecodedImage:
    return DecodedImage(np.zeros((4, 4, 3), np.uint8), 1.0, 4, 4, orientation)


def test_default_mode_looks_turned_only_at_unclear_large_faces_or_none() -> None:
    big, small = _face(UNCLEAR_SPAN + 5), _face(UNCLEAR_SPAN - 5)
    assert turns_to_try("default", _image(), [], []) == UPSIDE_DOWN
    assert turns_to_try("default", _image(), [small], [0.0]) == UPSIDE_DOWN
    assert turns_to_try("default", _image(), [big], [UNCLEAR - 1]) == EVERY_TURN
    # One clear face does not hide an unclear large one (a two-person photo on its side).
    assert turns_to_try("default", _image(), [big, big], [25.0, UNCLEAR - 1]) == EVERY_TURN
    assert turns_to_try("default", _image(), [big], [UNCLEAR + 1]) == ()
    # A face on its side may read clearly: its landmarks say which way it lies.
    assert turns_to_try("default", _image(), [big, _sideways(10)], [25.0, 26.0]) == EVERY_TURN
    # A small face in the background reads unclear the right way up too.
    assert turns_to_try("default", _image(), [big, small], [24.0, 9.0]) == ()


@pytest.mark.parametrize("mode", ["quick", "default", "thorough"])
def test_an_exif_orientation_says_which_way_up(mode: str) -> None:
    assert turns_to_try(mode, _image(orientation=3), [], []) == ()


def test_quick_never_turns_and_thorough_turns_whatever_is_not_clear() -> None:
    big = _face(40)
    assert turns_to_try("quick", _image(), [], []) == ()
    assert turns_to_try("thorough", _image(), [], []) == EVERY_TURN
    assert turns_to_try("thorough", _image(), [big], [UPRIGHT - 1]) == EVERY_TURN
    assert turns_to_try("thorough", _image(), [big], [UPRIGHT + 1]) == ()
    # What a default scan turns, --thorough turns too (its rows replace a default scan's): one
    # face of a group on its side may read clearly.
    assert turns_to_try("thorough", _image(), [big, big], [UPRIGHT, UNCLEAR - 1]) == EVERY_TURN


def test_a_turn_wins_with_more_clear_faces_or_a_clearly_clearer_one() -> None:
    # Nothing clear as stored: the turn needs one face at least TURNED clear.
    assert _clearer([TURNED + 0.5], [])
    assert not _clearer([TURNED - 0.5], [])
    # One face: TURN_MARGIN clearer.
    assert _clearer([24.0 + TURN_MARGIN], [24.0])
    assert not _clearer([24.0 + TURN_MARGIN - 0.5], [24.0])
    # Several: two people on their side, one reading clear, both clear the right way up.
    assert _clearer([26.5, 26.1, 18.5], [24.3, 9.3])
    # Not when as stored shows as many clear faces, or none clear to count.
    assert not _clearer([26.0, 25.0], [24.0, 23.5])
    assert not _clearer([TURNED + 0.5, TURNED + 0.5], [TURNED - 1, TURNED - 2, 0.0])


def _mirrored(face: Face, width: float = 200.0) -> Face:
    """``face`` mirrored left to right: on its side the other way."""
    landmarks = face.landmarks.copy()
    landmarks[:, 0] = width - landmarks[:, 0]
    x1, y1, x2, y2 = face.box
    return Face((width - x2, y1, width - x1, y2), landmarks, face.det_score)


def test_faces_read_on_their_side_say_how_to_show_the_photo() -> None:
    """Faces on their side that read clearly need no turn to be read, but the photo is still
    shown turned; one face lying down among upright ones turns nothing."""
    right, left = _sideways(30), _mirrored(_sideways(30))  # chin to the right, to the left
    assert sideways_turn([right], [24.0]) == 1
    assert sideways_turn([left, left], [24.0, 22.0]) == 3
    assert sideways_turn([right, _face(30)], [24.0, 25.0]) is None
    assert sideways_turn([_face(30)], [25.0]) is None
    assert sideways_turn([right, _face(4)], [24.0, 0.0]) == 1  # a face too small is not read
    assert sideways_turn([right], [0.0]) is None
