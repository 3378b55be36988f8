"""contact_sheet: a small captioned grid that fits in Dagster markdown metadata."""

import io

import numpy as np
import pytest
from PIL import Image

from vidassets.media.contact_sheet import contact_sheet, format_timestamp
from vidassets.media.frames import sample_frames


@pytest.fixture(scope="module")
def frames(media_talk_60s):
    sampled, _ = sample_frames(media_talk_60s, name="talk.mp4")
    return sampled


def test_png_grid_of_24_with_expected_size(frames):
    assert len(frames) == 30
    data = contact_sheet([f.image for f in frames], [format_timestamp(f.timestamp_s) for f in frames])
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    # 24 of 30 frames, 6 columns x 4 rows of 160x90 thumbnails with a 16 px caption strip and 2 px gaps.
    assert image.size == (6 * 162 + 2, 4 * (90 + 16 + 2) + 2)
    assert len(data) < 150_000


def test_jpeg_and_few_images(frames):
    data = contact_sheet([f.image for f in frames[:4]], ["a", "b", "c", "d"], image_format="jpeg", columns=3)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (3 * 162 + 2, 2 * 108 + 2)


def test_subsampling_keeps_first_and_last():
    images = [np.full((36, 64, 3), i * 10, dtype=np.uint8) for i in range(20)]
    data = contact_sheet(images, [str(i) for i in range(20)], max_images=4, columns=4, thumb_width=64)
    grid = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    firsts = [int(grid[10, 2 + i * 66 + 10]) for i in range(4)]
    assert firsts[0] == 0 and firsts[-1] == 190 and firsts == sorted(firsts)


def test_edge_cases():
    assert Image.open(io.BytesIO(contact_sheet([], []))).format == "PNG"
    with pytest.raises(ValueError, match="captions"):
        contact_sheet([np.zeros((4, 4, 3), np.uint8)], [])
    assert format_timestamp(65.25) == "1:05.2" and format_timestamp(3725.0) == "1:02:05"
