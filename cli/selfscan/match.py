"""Similarity, thresholds and bands. Pure numpy.

The score of a face is its cosine similarity to the closest of the profile's reference embeddings
(1.0 = identical, around 0 = unrelated people). A file's score is its best face's score.

- ``match``: score >= the model's match threshold.
- ``possible``: score in the review band just below it; shown so a person can look.
- ``no_match``: faces found, none close enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import InputError
from .types import Status


@dataclass(frozen=True)
class Thresholds:
    """Cut-offs on the cosine similarity for one model."""

    match: float
    possible: float

    def classify(self, score: float | None) -> Status:
        """The band a best-face score falls in (``no_match`` when no face was comparable)."""
        if score is None:
            return "no_match"
        if score >= self.match:
            return "match"
        if score >= self.possible:
            return "possible"
        return "no_match"

    def with_match(self, match: float) -> Thresholds:
        """These thresholds with the match cut-off overridden; the review band keeps its width
        (never reaching below 0, where unrelated faces score)."""
        width = self.match - self.possible
        return Thresholds(match=match, possible=max(0.0, match - width))


# Calibrated with benchmarks/calibrate.py on the labelled photos (see README, "Scores").
THRESHOLDS: dict[str, Thresholds] = {
    "buffalo_s": Thresholds(match=0.40, possible=0.30),
    "buffalo_l": Thresholds(match=0.40, possible=0.30),
}


def thresholds_for(pack_name: str, override: float | None = None) -> Thresholds:
    """The thresholds of a pack, with ``--threshold`` applied when given; an ``InputError``
    unless it lies strictly between 0 and 1 (at or below 0 every face would match, at 1 none
    would)."""
    base = THRESHOLDS.get(pack_name, THRESHOLDS["buffalo_s"])
    if override is None:
        return base
    if not 0.0 < override < 1.0:
        raise InputError(
            f"--threshold {override} is out of range: give a similarity above 0 and below 1 "
            f"(at 0 every face would match, at 1 none; calibrated: {base.match}; higher is "
            "stricter)"
        )
    return base.with_match(override)


def similarities(
    faces: NDArray[np.float32], references: NDArray[np.float32]
) -> NDArray[np.float32]:
    """For each face embedding (rows of ``faces``), its cosine similarity to the closest reference.

    Both inputs are L2-normalised; one matrix product does all faces at once.
    """
    if faces.size == 0 or references.size == 0:
        return np.zeros((faces.shape[0],), dtype=np.float32)
    sims = faces.astype(np.float32, copy=False) @ references.astype(np.float32, copy=False).T
    return sims.max(axis=1)
