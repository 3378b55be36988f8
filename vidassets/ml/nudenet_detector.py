"""NudeNet v3 (the `320n.onnx` the nudenet wheel ships) with an ONNX Runtime session we configure.

nudenet's own `NudeDetector` ignores providers and threads; we keep its pre/post-processing and build the
session ourselves so the GPU is used when present and CPU runs use the cores we have.
"""

from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
from nudenet import nudenet as nudenet_lib  # its pre-processing and label order; not its session

from vidassets.ml.model_files import nudenet_model_path

MODEL_NAME = "nudenet-320n"
LABELS: list[str] = vars(nudenet_lib)["__labels"]  # the class order of 320n.onnx


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: tuple[int, int, int, int]  # x, y, width, height in the frame's pixels

    def to_dict(self) -> dict:
        return {"label": self.label, "score": round(self.score, 4), "box": list(self.box)}


class NudeNetDetector:
    def __init__(self, session: onnxruntime.InferenceSession, model_path: str):
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self._resolution = 320
        self.model_path = model_path
        self.providers = session.get_providers()

    @classmethod
    def load(cls, model_path: str | None, *, device: str, threads: int) -> "NudeNetDetector":
        path = str(nudenet_model_path(model_path))
        if not Path(path).is_file():
            raise FileNotFoundError(f"NudeNet model not found at {path}: set VIDASSETS_NUDENET_MODEL")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        return cls(onnxruntime.InferenceSession(path, options, providers=providers), path)

    @property
    def name(self) -> str:
        return f"{MODEL_NAME} (nudenet {version('nudenet')})"

    def detect(self, images: list[bytes], batch_size: int = 8) -> list[list[Detection]]:
        """Detections per encoded image (JPEG/PNG bytes), in order."""
        results: list[list[Detection]] = []
        for start in range(0, len(images), batch_size):
            prepared = [nudenet_lib._read_image(img, self._resolution) for img in images[start : start + batch_size]]
            outputs = self._session.run(None, {self._input_name: np.vstack([p[0] for p in prepared])})[0]
            for row, (_, _, _, x_pad, y_pad, width, height) in zip(outputs, prepared, strict=True):
                results.append(self._postprocess(row, width + x_pad, height + y_pad, width, height))
        return results

    def _postprocess(self, row: np.ndarray, padded_w: int, padded_h: int, width: int, height: int) -> list[Detection]:
        """nudenet's `_postprocess`, vectorised (its per-anchor Python loop cost ~13 ms a frame)."""
        anchors = row.T  # (anchors, 4 + classes)
        scores = anchors[:, 4:]
        best = scores.max(axis=1)
        keep = best >= 0.2
        if not keep.any():
            return []
        cx, cy, w, h = (anchors[keep, i] for i in range(4))
        x = np.clip((cx - w / 2) * padded_w / self._resolution, 0, width)
        y = np.clip((cy - h / 2) * padded_h / self._resolution, 0, height)
        w = np.minimum(w * padded_w / self._resolution, width - x)
        h = np.minimum(h * padded_h / self._resolution, height - y)
        boxes = np.stack([x, y, w, h], axis=1)
        kept_scores = best[keep]
        class_ids = scores[keep].argmax(axis=1)
        indices = cv2.dnn.NMSBoxes(boxes.tolist(), kept_scores.tolist(), 0.25, 0.45)
        return [
            Detection(LABELS[class_ids[i]], float(kept_scores[i]),
                      (int(boxes[i, 0]), int(boxes[i, 1]), int(boxes[i, 2]), int(boxes[i, 3])))
            for i in np.asarray(indices).reshape(-1)
        ]
