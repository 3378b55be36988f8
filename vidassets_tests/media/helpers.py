"""Helpers shared by the media-library tests."""

from pathlib import Path

import av
import numpy as np

from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg
from vidassets.media.frames import frame_to_rgb


def remux(src: Path, out: Path, *input_options: str) -> Path:
    """Stream-copy `src` into another container (format from `out`'s suffix)."""
    run_ffmpeg(["-y", *input_options, "-i", ffmpeg_input(src), "-c", "copy", ffmpeg_input(out)], source_name=src.name)
    return out


def decode_all(path: Path, max_side: int) -> list[tuple[float, np.ndarray]]:
    """Every frame as (time, RGB) by plain linear decoding: the slow reference sample_frames must match.

    Uses the same pixel conversion as sample_frames, so the right frame matches exactly and any other
    frame (a stale keyframe, a neighbour) does not.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return [(float(frame.time), frame_to_rgb(frame, 1.0, max_side)) for frame in container.decode(stream)]


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
