"""Pure geometry and pixel preparation for the face models: input sizes, the detector's input
tensor, box overlap and suppression, landmark spans and the alignment transform. No model here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Input size (multiple of 32) for an image scaled so its long side is ``long_side``."""
    scale = min(1.0, long_side / max(width, height))
    w = max(32, math.ceil(width * scale / 32) * 32)
    h = max(32, math.ceil(height * scale / 32) * 32)
    return w, h


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


def iou(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
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
