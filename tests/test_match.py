"""Pure logic of similarity and bands (synthetic vectors; no model)."""

from __future__ import annotations

import numpy as np
import pytest

from selfscan.match import THRESHOLDS, Thresholds, similarities, thresholds_for


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_similarity_is_the_closest_reference() -> None:
    rng = np.random.default_rng(0)
    refs = unit(rng.normal(size=(3, 512)))
    faces = np.stack([refs[1], unit(rng.normal(size=512)), unit(refs[0] + refs[2])])
    sims = similarities(faces, refs)
    assert sims.shape == (3,)
    assert sims[0] == pytest.approx(1.0, abs=1e-5)
    assert abs(sims[1]) < 0.3  # random 512-d vectors are nearly orthogonal
    expected = max(float(faces[2] @ refs[0]), float(faces[2] @ refs[2]))
    assert sims[2] == pytest.approx(expected, abs=1e-6)


def test_similarity_of_nothing_is_empty() -> None:
    assert similarities(np.zeros((0, 512), np.float32), np.ones((2, 512), np.float32)).size == 0


@pytest.mark.parametrize(
    ("score", "status"),
    [(None, "no_match"), (0.9, "match"), (0.40, "match"), (0.35, "possible"), (0.1, "no_match")],
)
def test_bands(score: float | None, status: str) -> None:
    assert Thresholds(match=0.40, possible=0.30).classify(score) == status


def test_threshold_override_keeps_band_width() -> None:
    th = thresholds_for("buffalo_s", 0.5)
    base = THRESHOLDS["buffalo_s"]
    assert th.match == 0.5
    assert th.match - th.possible == pytest.approx(base.match - base.possible)
    assert thresholds_for("buffalo_s") == base
    low = thresholds_for("buffalo_s", 0.05)  # the band stops at 0, where strangers score
    assert low.possible == 0.0 and low.classify(-0.04) == "no_match"
