"""Detect, align and embed faces in one decoded image.

The only module that imports insightface. It hands the detector an image that is already small
(resizing a full-size photo inside the detector costs as much as detecting), maps boxes back to
original upright coordinates, and embeds only faces large enough to give a reliable embedding.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .models import ModelPack, create_session, providers_for
from .offline import import_insightface
from .types import DecodedImage, Face

# insightface's alignment calls a scikit-image API that warns about its own future removal.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"insightface\..*")
warnings.filterwarnings("ignore", category=FutureWarning, module=r"skimage\..*")

DET_THRESHOLD = 0.5
NMS_THRESHOLD = 0.4
# Faces whose eye-to-mouth geometry spans fewer decoded pixels than this give embeddings too
# noisy to tell people apart; they are reported but not compared.
MIN_EMBED_PX = 8.0


@dataclass(frozen=True)
class DetectPlan:
    """How to look for faces: one whole-image pass per detector long side, merged by NMS."""

    long_sides: tuple[int, ...] = (640,)
    det_threshold: float = DET_THRESHOLD

    @property
    def max_side(self) -> int:
        return max(self.long_sides)


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Input size (multiple of 32) for an image scaled so its long side is ``long_side``."""
    scale = min(1.0, long_side / max(width, height))
    w = max(32, math.ceil(width * scale / 32) * 32)
    h = max(32, math.ceil(height * scale / 32) * 32)
    return w, h


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


def landmark_span(landmarks: NDArray[np.float32]) -> float:
    """Distance from the eyes' midpoint to the mouth's midpoint: the face's usable size."""
    eyes = (landmarks[0] + landmarks[1]) / 2
    mouth = (landmarks[3] + landmarks[4]) / 2
    return float(np.linalg.norm(mouth - eyes))


class FaceAnalyzer:
    """SCRFD detection + ArcFace embedding for one process. Sessions load on first use."""

    def __init__(self, pack: ModelPack, device: str = "cpu", threads: int = 1) -> None:
        self.pack = pack
        self.device = device
        self.threads = threads
        self._detector: Any = None
        self._recognizer: Any = None

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
        det_session = create_session(self.pack.detector_path, providers, self.threads)
        rec_session = create_session(self.pack.recognizer_path, providers, self.threads)
        detector = SCRFD(
            str(self.pack.detector_path), session=det_session, static_shape_sessions=False
        )
        detector.nms_thresh = NMS_THRESHOLD
        self._detector = detector
        self._recognizer = ArcFaceONNX(str(self.pack.recognizer_path), session=rec_session)

    def detect(self, image: DecodedImage, plan: DetectPlan | None = None) -> list[Face]:
        """Faces in ``image``, boxes and landmarks in original upright coordinates, no
        embeddings. Each pass resizes the decoded pixels once, then runs the detector."""
        self._load()
        plan = plan or DetectPlan()
        pixels = image.pixels
        height, width = pixels.shape[:2]
        all_boxes: list[NDArray[np.float32]] = []
        all_kps: list[NDArray[np.float32]] = []
        for long_side in plan.long_sides:
            in_w, in_h = _fit(width, height, long_side)
            scale = min(1.0, long_side / max(width, height))
            if scale < 1.0:
                small = cv2.resize(
                    pixels,
                    (max(1, round(width * scale)), max(1, round(height * scale))),
                    interpolation=cv2.INTER_AREA,
                )
            else:
                small = pixels
            canvas = np.zeros((in_h, in_w, 3), dtype=np.uint8)
            canvas[: small.shape[0], : small.shape[1]] = small
            dets, kps = self._detector.detect(
                canvas, input_size=(in_w, in_h), det_thresh=plan.det_threshold
            )
            if dets.shape[0] == 0 or kps is None:
                continue
            factor = np.float32(image.scale * (width / small.shape[1]))
            boxes = dets.copy()
            boxes[:, :4] *= factor
            all_boxes.append(boxes)
            all_kps.append(kps * factor)
        if not all_boxes:
            return []
        boxes = np.vstack(all_boxes)
        kps_all = np.vstack(all_kps)
        keep = (
            nms(boxes[:, :4], boxes[:, 4], NMS_THRESHOLD)
            if len(all_boxes) > 1
            else list(range(len(boxes)))
        )
        faces = []
        for i in keep:
            x1, y1, x2, y2, score = (float(v) for v in boxes[i])
            x1, y1 = max(0.0, x1), max(0.0, y1)
            x2, y2 = min(float(image.width), x2), min(float(image.height), y2)
            faces.append(
                Face(
                    box=(x1, y1, x2, y2),
                    landmarks=kps_all[i].astype(np.float32),
                    det_score=score,
                )
            )
        faces.sort(key=lambda f: -f.det_score)
        return faces

    def embeddable(self, image: DecodedImage, face: Face) -> bool:
        """Whether ``face`` is big enough in the decoded pixels to give a reliable embedding."""
        return landmark_span(face.landmarks) / image.scale >= MIN_EMBED_PX

    def embed(self, image: DecodedImage, faces: list[Face]) -> list[Face]:
        """The same faces, with L2-normalised embeddings for those large enough; all the
        embeddable faces of an image go through the network in one batch."""
        self._load()
        from insightface.utils import face_align

        todo = [i for i, f in enumerate(faces) if self.embeddable(image, f)]
        if not todo:
            return list(faces)
        size = self._recognizer.input_size[0]
        crops = [
            face_align.norm_crop(image.pixels, faces[i].landmarks / image.scale, image_size=size)
            for i in todo
        ]
        feats = np.asarray(self._recognizer.get_feat(crops), dtype=np.float32)
        feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        out = list(faces)
        for row, i in enumerate(todo):
            f = faces[i]
            out[i] = Face(f.box, f.landmarks, f.det_score, feats[row].copy())
        return out

    def analyze(self, image: DecodedImage, plan: DetectPlan | None = None) -> list[Face]:
        """Detect, then embed what is large enough."""
        return self.embed(image, self.detect(image, plan))
