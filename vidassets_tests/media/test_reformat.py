"""`scaled_array` (one kept swscale context per thread and shape) gives PyAV's own `frame.reformat()` pixels."""

import threading

import av
import numpy as np

from vidassets.media.reformat import scaled_array

SHAPES = [(160, 90, "bgr24", "FAST_BILINEAR"), (320, 180, "gray", "AREA"), (48, 27, "rgb24", "BICUBIC")]


def _frames(path, count: int) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == count:
                return frames
    return frames


def test_same_pixels_as_pyav_for_every_shape_in_turn(media_talk_720p):
    """Shapes alternate frame by frame (as `shots` scales for the detector and for sharpness): each call must use
    the context of its own arguments, never the previous call's."""
    frames = _frames(media_talk_720p, 12)
    assert len(frames) == 12
    for frame in frames:
        for width, height, fmt, interpolation in SHAPES:
            expected = frame.reformat(width=width, height=height, format=fmt, interpolation=interpolation).to_ndarray()
            got = scaled_array(frame, width, height, fmt, interpolation)
            assert got.shape == expected.shape
            assert np.array_equal(got, expected), (width, height, fmt)


def test_threads_keep_their_own_contexts(media_talk_720p):
    frames = _frames(media_talk_720p, 8)
    expected = [f.reformat(width=160, height=90, format="gray", interpolation="AREA").to_ndarray() for f in frames]
    results: dict[int, list[np.ndarray]] = {}

    def scale(worker: int) -> None:
        results[worker] = [scaled_array(f, 160, 90, "gray", "AREA") for f in frames * 5]

    threads = [threading.Thread(target=scale, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got in results.values():
        assert all(np.array_equal(a, b) for a, b in zip(got, expected * 5, strict=True))
