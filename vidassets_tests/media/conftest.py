"""Real media for the media-library tests, built once per session from package-shipped files.

Fixture names are prefixed `media_` so they never shadow the platform fixtures (speaking_video, ...).
"""

from pathlib import Path

import pytest

from vidassets import samples


@pytest.fixture(scope="session")
def media_lib_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media_lib")


@pytest.fixture(scope="session")
def media_talk_720p(media_lib_dir) -> Path:
    """30 s 1280x720 H.264 + AAC, keyframes every 2 s: the default speaking video."""
    return samples.speaking_video(media_lib_dir / "talk_720p.mp4", seconds=30.0)


@pytest.fixture(scope="session")
def media_talk_60s(media_lib_dir) -> Path:
    """60 s 640x360 with keyframes every 2 s, for whole-video coverage."""
    return samples.speaking_video(media_lib_dir / "talk_60s.mp4", seconds=60.0, width=640, height=360)


@pytest.fixture(scope="session")
def media_sparse_gop(media_lib_dir) -> Path:
    """20 s at 25 fps with a keyframe every 250 frames (10 s): too sparse for 0.5 fps sampling."""
    return samples.speaking_video(
        media_lib_dir / "sparse_gop.mp4", seconds=20.0, width=640, height=360, keyframe_interval_s=10.0
    )
