"""Detect, align and embed faces in one decoded image.

The only module that imports insightface (the pure geometry is in ``geometry``). It hands the
detector an image that is already small (resizing a full-size photo inside the detector costs as
much as detecting), maps boxes back to original upright coordinates, and embeds only faces large
enough to give a reliable embedding.

OpenCV is imported inside the functions that handle pixels: every command builds a
``FaceAnalyzer``, but only those that analyse an image need OpenCV (an unchanged rescan does not).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .devices import providers_for, wants_cuda
from .geometry import (
    SEAM,
    TILE_OVERLAP,
    TILE_SIDE,
    DetectPlan,
    detector_blob,
    fit_size,
    gpu_shape,
    iou,
    landmark_span,
    nms,
    owned_by_tile,
    similarity,
    tile_grid,
)
from .models import ModelPack, create_session
from .offline import import_insightface
from .types import DecodedImage, Face

NMS_THRESHOLD = 0.4
# Faces whose eye-to-mouth span (about 0.35x the face box height) covers fewer pixels than this
# in the image they are embedded from are reported but not compared. Measured with
# benchmarks/smallfaces.py (9 people, each compared with itself at native size; match threshold
# 0.40): impostor scores stay below 0.23 at every size, but the same person falls below 0.40 in
# 25-100% of cases at spans of 5-7 px (genuine median 0.31-0.52), and in 0-14% from 8 px up
# (median 0.58 at 8.4 px, 0.73 at 11 px). Below 8 px an embedding costs time and finds no one.
MIN_EMBED_PX = 8.0
EMBED_BATCH = 16  # faces per recogniser run (memory: see ``embed_scored``)
# A candidate is looked at again enlarged so that its face is about this tall (pixels).
ZOOM_TO = 48.0


class FaceAnalyzer:
    """SCRFD detection + ArcFace embedding for one process. Sessions load on first use."""

    def __init__(self, pack: ModelPack, device: str = "cpu", threads: int = 1) -> None:
        self.pack = pack
        self.device = device
        self.threads = threads
        self._detector: Any = None
        self._recognizer: Any = None
        self._gpu = False  # inputs padded to a few fixed shapes, one session each

    @property
    def model_id(self) -> str:
        return self.pack.model_id

    def _load(self) -> None:
        if self._detector is not None:
            return
        import_insightface()
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX
        from insightface.model_zoo.scrfd import SCRFD

        providers = providers_for(self.device)
        self._gpu = wants_cuda(providers)
        det_session = create_session(self.pack.detector_path, providers, self.threads)
        rec_session = create_session(self.pack.recognizer_path, providers, self.threads)

        # On the CPU one session takes every input size; on a GPU each size (see gpu_shape) gets
        # its own, built once, with the same options and providers.
        def per_size(model_file: str, size: tuple[int, int], reference: Any) -> Any:
            return create_session(self.pack.detector_path, providers, self.threads, fixed=size)

        detector = SCRFD(
            str(self.pack.detector_path),
            session=det_session,
            static_shape_sessions=self._gpu,
            resolution_session_factory=per_size,
        )
        detector.nms_thresh = NMS_THRESHOLD
        if getattr(detector, "input_dtype", np.float32) == np.float32:
            detector._prepare_input_blob = detector_blob
        self._detector = detector
        self._recognizer = ArcFaceONNX(str(self.pack.recognizer_path), session=rec_session)

    def _pass(
        self, pixels: NDArray[np.uint8], long_side: int, threshold: float
    ) -> tuple[NDArray[np.float32], NDArray[np.float32], float]:
        """One detector pass: boxes+scores (N x 5) and landmarks (N x 5 x 2) in the pixels of
        the resized input, and the factor that maps them back to ``pixels``."""
        import cv2

        height, width = pixels.shape[:2]
        scale = min(1.0, long_side / max(width, height))
        factor = int(max(width, height) // long_side)
        if factor >= 2 and min(width, height) >= factor:  # (a 1x5000 image has no whole block)
            # An exact integer reduction is OpenCV's fast area path (12 against 25 ms from
            # 2016x1512 to 320x240): reduce by the largest whole factor that keeps the long side
            # at least ``long_side``, dropping the last (under ``factor``) rows and columns.
            used_w, used_h = width - width % factor, height - height % factor
            small = cv2.resize(
                pixels[:used_h, :used_w],
                (used_w // factor, used_h // factor),
                interpolation=cv2.INTER_AREA,
            )
        elif scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        else:
            small = pixels
        back = factor if factor >= 2 else width / small.shape[1]
        grid = tile_grid(small.shape[1], small.shape[0], TILE_SIDE, TILE_OVERLAP)
        if len(grid) == 1:
            return (*self._forward(small, threshold), back)
        out_d, out_k = [], []
        small_h, small_w = small.shape[:2]
        for tile, owned in grid:
            x0, y0, x1, y1 = tile
            dets, kps = self._forward(small[y0:y1, x0:x1], threshold)
            dets[:, [0, 2]] += x0
            dets[:, [1, 3]] += y0
            kps += np.array([x0, y0], np.float32)
            mine = owned_by_tile(dets, tile, owned, small_w, small_h, SEAM)
            out_d.append(dets[mine])
            out_k.append(kps[mine])
        return np.vstack(out_d), np.vstack(out_k), back

    def _forward(
        self, pixels: NDArray[np.uint8], threshold: float
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The network on ``pixels`` padded to a multiple of 32: boxes+scores (N x 5) and
        landmarks (N x 5 x 2) in ``pixels`` coordinates."""
        import cv2

        in_w, in_h = fit_size(pixels.shape[1], pixels.shape[0], max(pixels.shape[:2]))
        if self._gpu:
            in_w, in_h = gpu_shape(in_w, in_h)
        pad_b, pad_r = in_h - pixels.shape[0], in_w - pixels.shape[1]
        if pad_b or pad_r:
            pixels = cv2.copyMakeBorder(pixels, 0, pad_b, 0, pad_r, cv2.BORDER_CONSTANT, value=0)
        # The network directly: SCRFD.detect would resize and pad the input once more.
        scores, boxes, kps = self._detector.forward(pixels, threshold)
        if not scores or sum(len(s) for s in scores) == 0:
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        dets = np.hstack((np.vstack(boxes), np.vstack(scores))).astype(np.float32)
        return dets, np.vstack(kps).astype(np.float32).reshape(-1, 5, 2)

    def _confirmed(
        self,
        pixels: NDArray[np.uint8],
        dets: NDArray[np.float32],
        kps: NDArray[np.float32],
        factor: float,
        threshold: float,
        limit: int,
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The candidates of a low-threshold pass that score ``threshold`` as they are or on a
        zoomed second look; coordinates stay those of the pass."""
        keep = nms(dets[:, :4], dets[:, 4], NMS_THRESHOLD)
        out_d, out_k = [], []
        looks = 0
        for i in keep:  # best first
            if dets[i, 4] >= threshold:
                out_d.append(dets[i])
                out_k.append(kps[i])
                continue
            if looks >= limit:
                break
            looks += 1
            found = self._confirm(
                pixels, dets[i] * np.array([factor] * 4 + [1], np.float32), threshold
            )
            if found is not None:
                det, kp = found
                out_d.append(det * np.array([1 / factor] * 4 + [1], np.float32))
                out_k.append(kp / factor)
        if not out_d:
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        return np.stack(out_d), np.stack(out_k)

    def _confirm(
        self, pixels: NDArray[np.uint8], det: NDArray[np.float32], threshold: float
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
        """Look again at a candidate (box in ``pixels`` coordinates), zoomed so the face is
        about ``ZOOM_TO`` px tall; the confirmed detection in ``pixels`` coordinates, or None."""
        import cv2

        x1, y1, x2, y2 = (float(v) for v in det[:4])
        side = max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        height, width = pixels.shape[:2]
        ox, oy = max(0, int(cx - side * 1.5)), max(0, int(cy - side * 1.5))
        ex, ey = min(width, int(cx + side * 1.5) + 1), min(height, int(cy + side * 1.5) + 1)
        zoom = min(4.0, max(1.0, ZOOM_TO / max(1.0, y2 - y1)))
        if ex - ox < 2 or ey - oy < 2:  # a candidate in the padding beyond the image
            return None
        crop = pixels[oy:ey, ox:ex]
        size = (max(1, round(crop.shape[1] * zoom)), max(1, round(crop.shape[0] * zoom)))
        dets, kps_all = self._forward(
            cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR), threshold
        )
        if dets.shape[0] == 0:
            return None
        dets[:, :4] /= zoom
        kps_all /= zoom
        dets[:, [0, 2]] += ox
        dets[:, [1, 3]] += oy
        kps_all += np.array([ox, oy], dtype=np.float32)
        overlap = [iou(d[:4], det[:4]) for d in dets]
        best = int(np.argmax(np.where(np.array(overlap) >= 0.3, dets[:, 4], -1.0)))
        if overlap[best] < 0.3:
            return None
        return dets[best], kps_all[best]

    def detect(self, image: DecodedImage, plan: DetectPlan | None = None) -> list[Face]:
        """Faces in ``image``, boxes and landmarks in original upright coordinates, no
        embeddings. Each pass resizes the decoded pixels once, then runs the detector; passes
        that would see the same input size as an earlier one are skipped."""
        self._load()
        plan = plan or DetectPlan()
        pixels = image.pixels
        height, width = pixels.shape[:2]
        all_boxes: list[NDArray[np.float32]] = []
        all_kps: list[NDArray[np.float32]] = []
        done: set[tuple[int, int]] = set()
        for long_side, threshold in plan.passes(max(width, height)):
            fit = fit_size(width, height, long_side)
            if fit in done:
                continue
            done.add(fit)
            dets, kps, factor = self._pass(pixels, long_side, threshold)
            if dets.shape[0] == 0:
                continue
            if threshold < plan.det_threshold:
                dets, kps = self._confirmed(
                    pixels, dets, kps, factor, plan.det_threshold, plan.confirm_limit
                )
                if dets.shape[0] == 0:
                    continue
            factor = np.float32(image.scale * factor)
            dets[:, :4] *= factor
            all_boxes.append(dets)
            all_kps.append(kps * factor)
        if not all_boxes:
            return []
        boxes = np.vstack(all_boxes)
        kps_all = np.vstack(all_kps)
        faces = []
        for i in nms(boxes[:, :4], boxes[:, 4], NMS_THRESHOLD):
            x1, y1, x2, y2, score = (float(v) for v in boxes[i])
            x1, y1 = max(0.0, x1), max(0.0, y1)
            x2, y2 = min(float(image.width), x2), min(float(image.height), y2)
            faces.append(Face(box=(x1, y1, x2, y2), landmarks=kps_all[i], det_score=score))
        return faces

    def embeddable(self, image: DecodedImage, face: Face) -> bool:
        """Whether ``face`` is big enough in the decoded pixels to give a reliable embedding."""
        return landmark_span(face.landmarks) / image.scale >= MIN_EMBED_PX

    def embed(self, image: DecodedImage, faces: list[Face]) -> list[Face]:
        """The same faces, with L2-normalised embeddings for those large enough (through the
        network ``EMBED_BATCH`` at a time)."""
        return self.embed_scored(image, faces)[0]

    def embed_scored(
        self, image: DecodedImage, faces: list[Face]
    ) -> tuple[list[Face], list[float]]:
        """``embed``, and for each face the length of its embedding before it is normalised (0
        without one): ArcFace's features are longer for clear, upright, well-aligned faces
        (24-29 for the sample photos' best faces upright, 9-20 upside down), so it tells which
        way up a photo is."""
        self._load()
        todo = [i for i, f in enumerate(faces) if self.embeddable(image, f)]
        clarity = [0.0] * len(faces)
        if not todo:
            return list(faces), clarity
        size = self._recognizer.input_size[0]
        # In batches of EMBED_BATCH: onnxruntime keeps the memory of its largest run, so one
        # batch of a crowd's 600 faces held a worker at 3 GB for the rest of the scan.
        parts = []
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            crops = [
                align(image.pixels, _in_pixels(image, faces[i].landmarks), size) for i in batch
            ]
            if self._gpu:  # one batch shape on a GPU (a new one costs cuDNN a new plan)
                crops += [crops[0]] * (EMBED_BATCH - len(crops))
            feats = np.asarray(self._recognizer.get_feat(crops), dtype=np.float32)
            parts.append(feats[: len(batch)])
        feats = np.concatenate(parts)
        norms = np.linalg.norm(feats, axis=1, keepdims=True)
        feats /= np.maximum(norms, 1e-12)
        out = list(faces)
        for row, i in enumerate(todo):
            f = faces[i]
            out[i] = Face(f.box, f.landmarks, f.det_score, feats[row].copy())
            clarity[i] = float(norms[row, 0])
        return out, clarity

    def embed_window(self, face: Face) -> tuple[float, float, float, float]:
        """The part of the image (original upright coordinates) ``embed`` reads for ``face``:
        the recogniser's input square mapped back, two pixels wider for interpolation."""
        import cv2

        self._load()
        size = self._recognizer.input_size[0]
        inverse = cv2.invertAffineTransform(similarity(face.landmarks, _template(size)))
        square = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
        xs, ys = (square @ inverse.T).T
        return (xs.min() - 2, ys.min() - 2, xs.max() + 2, ys.max() + 2)

    def analyze(self, image: DecodedImage, plan: DetectPlan | None = None) -> list[Face]:
        """Detect, then embed what is large enough."""
        return self.embed(image, self.detect(image, plan))


def align(
    pixels: NDArray[np.uint8], landmarks: NDArray[np.float32], size: int = 112
) -> NDArray[np.uint8]:
    """The face cropped and aligned onto insightface's ArcFace landmark template, ``size`` px
    square (a multiple of 112 or 128): what ``face_align.norm_crop`` makes, with the transform
    estimated by ``geometry.similarity`` instead of scikit-image."""
    import cv2

    matrix = similarity(landmarks, _template(size))
    return cv2.warpAffine(pixels, matrix, (size, size), borderValue=0.0)


def _template(size: int) -> NDArray[np.float64]:
    """insightface's ArcFace landmark template for a ``size`` px square crop."""
    import_insightface()
    from insightface.utils.face_align import arcface_dst

    if size % 112 == 0:
        return arcface_dst * (size / 112.0)
    template = arcface_dst * (size / 128.0)
    template[:, 0] += 8.0 * size / 128.0
    return template


def _in_pixels(image: DecodedImage, points: NDArray[np.float32]) -> NDArray[np.float32]:
    """Original upright coordinates as coordinates in ``image.pixels``."""
    return (points - np.asarray(image.origin, np.float32)) / np.float32(image.scale)
