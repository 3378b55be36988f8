"""Our NudeNet session (providers, threads, vectorised post-processing) must match nudenet's own output."""

import cv2
import pytest
from nudenet import NudeDetector
from skimage import data

from vidassets.ml.nudenet_detector import NudeNetDetector
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader, loaded_model_keys


def _jpeg(rgb) -> bytes:
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return [_jpeg(img) for img in (data.astronaut(), data.coffee(), data.camera(), data.chelsea())]


def test_detections_equal_nudenet_reference(photos):
    ours = ModelLoader(ModelConfig(device="cpu")).nudenet().detect(photos, batch_size=3)
    reference = NudeDetector()
    for got, image in zip(ours, photos, strict=True):
        expected = reference.detect(image)
        assert [(d.label, round(d.score, 4), list(d.box)) for d in got] == [
            (e["class"], round(e["score"], 4), e["box"]) for e in expected
        ]
    assert any(d.label == "FACE_FEMALE" for d in ours[0]), "the astronaut's face is detected"


def test_model_is_loaded_once_per_process():
    store = ModelLoader(ModelConfig(device="cpu"))
    assert store.nudenet() is store.nudenet() is ModelLoader(ModelConfig(device="cpu")).nudenet()
    assert sum(1 for key in loaded_model_keys() if key[0] == "nudenet") == 1


def test_missing_model_file_says_what_to_set(tmp_path):
    with pytest.raises(FileNotFoundError, match="VIDASSETS_NUDENET_MODEL"):
        NudeNetDetector.load(str(tmp_path / "missing.onnx"), device="cpu", threads=1)
