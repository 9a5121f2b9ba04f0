"""Pure geometry and pixel preparation for the face models: the detector's plan of passes and
tiles, input sizes, the detector's input tensor, box overlap and suppression, landmark spans and
the alignment transform. No model here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DET_THRESHOLD = 0.5
# A detector input longer than this is run as overlapping tiles: at 4032x3024 (the thorough
# mode's full-resolution pass), four 2056x1552 tiles hold a worker's peak at about 450 instead
# of 950 MiB, for about 3% more network time (one core, quiet machine). A box within SEAM px of
# a tile's inner edge is taken as cut by it and dropped; the overlap keeps any face up to
# TILE_OVERLAP - 2 * SEAM = 64 px whole, away from the edges, in the tile that owns its centre.
TILE_SIDE = 2064
TILE_OVERLAP = 80
SEAM = 8.0
# The larger faces, which a seam may cut, are found by a pass at most TILE_STEP times smaller
# (from about 64 / 2.5 = 26 px at its own scale), added below each tiled pass.
TILE_STEP = 2.5


@dataclass(frozen=True)
class DetectPlan:
    """How to look for faces: one whole-image pass per detector long side (an absolute size, or
    a fraction of the image's), merged by NMS; a pass larger than ``TILE_SIDE`` runs in tiles.

    ``thresholds`` holds one detection threshold per pass (default: ``det_threshold`` for all).
    A pass with a threshold below ``det_threshold`` proposes candidates: each one scoring below
    ``det_threshold`` is confirmed only by a second, zoomed look at its neighbourhood (the
    detector scores a face far more reliably at 40+ px than at 20 px), so a low candidate
    threshold raises recall without letting noise through. At most ``confirm_limit``
    candidates per image get that second look, best first: a crowd or a busy texture yields
    thousands of weak candidates, and each look is a detector run.
    """

    long_sides: tuple[float, ...] = (640,)
    det_threshold: float = DET_THRESHOLD
    thresholds: tuple[float, ...] = ()
    confirm_limit: int = 32

    def passes(self, long: int) -> list[tuple[int, float]]:
        """``(long side, threshold)`` for each pass over an image whose long side is ``long``,
        smallest input first. A side of at most 1 is a fraction of ``long``: 1.0 is the image
        as it is, 0.5 half of it, whatever its size.

        A pass that runs in tiles keeps whole only the faces smaller than the tiles' overlap;
        the larger ones, cut by a seam, must be found by a smaller pass. So below each tiled pass
        there is one at most ``TILE_STEP`` times smaller (added, with the tiled pass's threshold,
        where the plan has none): a 48 MP photo or a panorama gets passes in between."""
        ths = self.thresholds or (self.det_threshold,) * len(self.long_sides)
        sides = [max(1, round(s * long)) if s <= 1 else int(s) for s in self.long_sides]
        found = dict(zip(sides, ths, strict=True))
        for side in sorted(found, reverse=True):
            while side > TILE_SIDE and not any(side / TILE_STEP <= s < side for s in found):
                side, threshold = round(side / TILE_STEP), found[side]
                found[side] = threshold
        return sorted(found.items())


def owned_by_tile(
    dets: NDArray[np.float32],
    tile: tuple[int, int, int, int],
    owned: tuple[int, int, int, int],
    width: int,
    height: int,
    seam: float,
) -> NDArray[np.bool_]:
    """Which of a tile's boxes (N x 5, in the whole image's pixels) the tile keeps: each face
    once, from the tile that owns its centre (``owned``), where it is whole. A box within
    ``seam`` px of an inner edge of the tile (``tile``; an image ``width`` x ``height``) is a
    face the tile cuts (larger than the overlap): a smaller input finds it whole, and the part
    must not win over it for scoring higher."""
    x0, y0, x1, y1 = tile
    ox0, oy0, ox1, oy1 = owned
    cx, cy = (dets[:, 0] + dets[:, 2]) / 2, (dets[:, 1] + dets[:, 3]) / 2
    mine = (cx >= ox0) & (cx < ox1) & (cy >= oy0) & (cy < oy1)
    mine &= (x0 == 0) | (dets[:, 0] > x0 + seam)
    mine &= (y0 == 0) | (dets[:, 1] > y0 + seam)
    mine &= (x1 == width) | (dets[:, 2] < x1 - seam)
    mine &= (y1 == height) | (dets[:, 3] < y1 - seam)
    return mine


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Input size (multiple of 32) for an image scaled so its long side is ``long_side``."""
    scale = min(1.0, long_side / max(width, height))
    w = max(32, math.ceil(width * scale / 32) * 32)
    h = max(32, math.ceil(height * scale / 32) * 32)
    return w, h


# Detector input sides on a GPU. A CUDA session runs a shape it has seen in about 3 ms, but a new
# one costs 0.1-3 s while cuDNN plans it, so inputs are padded to these sides (each about 1.5x
# the last; then multiples of 512) and each shape gets a session of its own.
GPU_SIDES = (128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


def gpu_side(side: int) -> int:
    """The smallest of ``GPU_SIDES`` that holds ``side`` (beyond them: a multiple of 512)."""
    for bucket in GPU_SIDES:
        if side <= bucket:
            return bucket
    return -(-side // 512) * 512


def gpu_shape(width: int, height: int) -> tuple[int, int]:
    """The padded input for ``width`` x ``height`` on a GPU: a square up to 1024 (second looks
    at candidates, whose crops take every shape near the image's edges), then each side
    rounded up by itself (whole photos, mostly 4:3 or 3:4)."""
    if max(width, height) <= 1024:
        side = gpu_side(max(width, height))
        return side, side
    return gpu_side(width), gpu_side(height)


def spans(length: int, longest: int, overlap: int) -> list[tuple[int, int]]:
    """The fewest ``(start, end)`` spans of at most ``longest`` pixels that cover ``length``,
    neighbours overlapping by at least ``overlap``; one span when ``length`` fits."""
    if length <= longest:
        return [(0, length)]
    count = math.ceil((length - overlap) / (longest - overlap))
    size = math.ceil((length + (count - 1) * overlap) / count)
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)]
    return [(start, start + size) for start in starts]


def _owned(parts: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Each span with the part it owns: up to the middle of each overlap with a neighbour."""
    out = []
    for i, (start, end) in enumerate(parts):
        lo = start if i == 0 else (start + parts[i - 1][1]) // 2
        hi = end if i == len(parts) - 1 else (parts[i + 1][0] + end) // 2
        out.append((start, end, lo, hi))
    return out


Tile = tuple[tuple[int, int, int, int], tuple[int, int, int, int]]


def tile_grid(width: int, height: int, longest: int, overlap: int) -> list[Tile]:
    """Tiles covering a ``width`` x ``height`` image, each at most ``longest`` a side,
    neighbours overlapping by at least ``overlap``: ``((x0, y0, x1, y1), owned)``. A tile owns
    what is closer to it than to its neighbours (split in the middle of each overlap), so a
    detection kept only by the tile that owns its centre is kept once, and whole when the face
    is at most ``overlap`` across. One tile when the image fits."""
    cols = _owned(spans(width, longest, overlap))
    rows = _owned(spans(height, longest, overlap))
    return [
        ((x0, y0, x1, y1), (ox0, oy0, ox1, oy1))
        for y0, y1, oy0, oy1 in rows
        for x0, x1, ox0, ox1 in cols
    ]


def detector_blob(img: NDArray[np.uint8], input_size: tuple[int, int]) -> NDArray[np.float32]:
    """The detector's input tensor: RGB planes, (x - 127.5) / 128. Same values as
    ``cv2.dnn.blobFromImage`` (which SCRFD uses) in 40% of its time at 2016x1536 (24 against
    61 ms): the planes are split once and scaled in place. ``input_size`` is the size of
    ``img`` already (SCRFD's hook passes it)."""
    import cv2

    h, w = img.shape[:2]
    blob = np.empty((1, 3, h, w), dtype=np.float32)
    planes = cv2.split(img)
    for c in range(3):
        blob[0, c] = planes[2 - c]
    blob -= 127.5
    blob *= 1.0 / 128.0
    return blob


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], thresh: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        overlap = inter / (areas[i] + areas[rest] - inter)
        order = rest[overlap <= thresh]
    return keep


def iou(
    a: NDArray[np.float32] | Sequence[float], b: NDArray[np.float32] | Sequence[float]
) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2, ...)`` boxes."""
    w = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    h = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = w * h
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def landmark_span(landmarks: NDArray[np.float32]) -> float:
    """Distance from the eyes' midpoint to the mouth's midpoint: the face's usable size."""
    eyes = (landmarks[0] + landmarks[1]) / 2
    mouth = (landmarks[3] + landmarks[4]) / 2
    return float(np.linalg.norm(mouth - eyes))


def similarity(src: NDArray[np.floating], dst: NDArray[np.floating]) -> NDArray[np.float64]:
    """The 2x3 similarity transform (rotation, uniform scale, translation; no reflection) that
    maps the points ``src`` onto ``dst`` with the least squared error: Umeyama's method, the
    estimate scikit-image's ``SimilarityTransform`` makes for insightface's alignment. Done
    here because scikit-image's transforms import SciPy's spatial and sparse modules on first
    use (0.3 s in every process that aligns a face) and its ``estimate`` is deprecated."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    u, s, vt = np.linalg.svd(cov)
    rank = np.linalg.matrix_rank(cov)
    if rank == 0:  # all points equal: translate only
        rot, scale = np.eye(2), 1.0
    else:
        if rank == 1 and np.linalg.det(u) * np.linalg.det(vt) <= 0:
            d[1] = -1.0
        elif rank == 1:
            d[1] = 1.0
        rot = u @ np.diag(d) @ vt
        scale = float(s @ d) / float(src_c.var(axis=0).sum())
    out = np.empty((2, 3))
    out[:, :2] = rot * scale
    out[:, 2] = dst_mean - scale * (rot @ src_mean)
    return out


# EXIF orientations: upright coordinates back to those of the image as stored (XMP regions
# describe the stored image; a JPEG's rows are decoded in stored order).
def stored_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """The stored image's size from its upright size (orientations 5..8 swap the axes)."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def stored_point(
    u: float, v: float, width: int, height: int, orientation: int
) -> tuple[float, float]:
    """Where the upright point ``(u, v)`` of an upright ``width`` x ``height`` image lies in the
    stored image that EXIF ``orientation`` turns upright."""
    sw, sh = stored_size(width, height, orientation)
    if orientation == 2:
        return sw - u, v
    if orientation == 3:
        return sw - u, sh - v
    if orientation == 4:
        return u, sh - v
    if orientation == 5:
        return v, u
    if orientation == 6:
        return v, sh - u
    if orientation == 7:
        return sw - v, sh - u
    if orientation == 8:
        return sw - v, u
    return u, v


def stored_box(
    box: tuple[float, float, float, float], width: int, height: int, orientation: int
) -> tuple[float, float, float, float]:
    """An upright box ``(x1, y1, x2, y2)`` in the stored image's pixel coordinates."""
    ax, ay = stored_point(box[0], box[1], width, height, orientation)
    bx, by = stored_point(box[2], box[3], width, height, orientation)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)
