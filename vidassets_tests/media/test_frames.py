"""sample_frames: whole-video coverage, spacing, caps, the keyframe/seek strategies, correctness."""

import io

import numpy as np
import pytest
from PIL import Image

from vidassets.media.errors import InvalidMediaError
from vidassets.media.frames import encode_jpeg, plan_slots, sample_frames
from vidassets_tests.media.helpers import decode_all, mean_abs_diff, remux


def _times(frames) -> list[float]:
    return [f.timestamp_s for f in frames]


def _assert_matches_reference(frames, reference, keyframe_tolerance: float = 0.01) -> None:
    """Each sampled image is exactly the frame linear decoding gives at its reported timestamp.

    Keyframes shrunk 2x or more are decoded without deblocking, so they only match to `keyframe_tolerance`.
    """
    times = np.array([t for t, _ in reference])
    for frame in frames:
        i = int(np.argmin(np.abs(times - frame.timestamp_s)))
        assert abs(times[i] - frame.timestamp_s) < 0.021, frame.timestamp_s
        tolerance = keyframe_tolerance if frame.is_keyframe else 0.01
        assert mean_abs_diff(frame.image, reference[i][1]) < tolerance, frame.timestamp_s


def test_plan_slots():
    assert plan_slots(60.0, 0.5, 300) == (30, 2.0)
    assert plan_slots(600.0, 0.5, 300) == (300, 2.0)
    count, width = plan_slots(3600.0, 0.5, 300)
    assert count == 300 and width == pytest.approx(12.0)
    assert plan_slots(1.0, 0.5, 300) == (1, 1.0)
    with pytest.raises(ValueError):
        plan_slots(10.0, 0.0, 300)


def test_whole_video_coverage_with_keyframes(media_talk_60s):
    frames, method = sample_frames(media_talk_60s, name="talk.mp4")
    times = _times(frames)
    assert method == "keyframes"
    assert len(frames) == 30  # 0.5 fps over 60 s
    assert times[0] < 1.0 and times[-1] >= 55.0, "frames must span the whole video, not the first minute"
    gaps = np.diff(times)
    assert (gaps > 0).all(), "timestamps strictly increasing"
    assert gaps.min() >= 1.0 and gaps.mean() == pytest.approx(2.0, abs=0.1)
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(f.is_keyframe for f in frames)
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == (360, 640, 3) and f.image.flags.c_contiguous


def test_max_frames_and_max_side(media_talk_60s):
    frames, _ = sample_frames(media_talk_60s, name="talk.mp4", rate_fps=5.0, max_frames=12, max_side=160)
    times = _times(frames)
    assert len(frames) == 12
    assert times[-1] >= 50.0 and np.diff(times).min() >= 4.0, "capped frames still span the whole video"
    assert all(max(f.image.shape[:2]) <= 160 for f in frames)
    assert frames[0].image.shape == (90, 160, 3)


def test_sparse_keyframes_use_seek_and_decode_the_right_frames(media_sparse_gop):
    frames, method = sample_frames(media_sparse_gop, name="sparse.mp4", max_side=160)
    times = _times(frames)
    assert method == "seek"
    assert len(frames) == 10
    assert times == pytest.approx([2.0 * i for i in range(10)], abs=0.05)
    assert sum(f.is_keyframe for f in frames) == 2  # only t=0 and t=10 are keyframes
    _assert_matches_reference(frames, decode_all(media_sparse_gop, 160))


def test_mixed_keyframes_and_seek(media_talk_60s):
    # 0.75 fps -> 45 targets every 1.33 s; keyframes every 2 s fill two thirds of them.
    frames, method = sample_frames(media_talk_60s, name="talk.mp4", rate_fps=0.75, max_side=400)
    assert method == "keyframes+seek"
    assert len(frames) == 45 and 0 < sum(f.is_keyframe for f in frames) < 45
    assert np.diff(_times(frames)).min() > 0.5
    _assert_matches_reference(frames, decode_all(media_talk_60s, 400))


def test_shrunk_keyframes_skip_deblocking_but_seeked_frames_do_not(media_talk_60s):
    """At >= 2x downscale keyframes are decoded without the loop filter (invisible after shrinking);
    the seek pass must reopen the decoder, or every P/B frame after a keyframe would be smeared."""
    frames, _ = sample_frames(media_talk_60s, name="talk.mp4", rate_fps=0.75, max_side=160)
    reference = decode_all(media_talk_60s, 160)
    _assert_matches_reference(frames, reference, keyframe_tolerance=2.0)
    keyframes = [f for f in frames if f.is_keyframe]
    times = np.array([t for t, _ in reference])
    diffs = [mean_abs_diff(f.image, reference[int(np.argmin(np.abs(times - f.timestamp_s)))][1]) for f in keyframes]
    assert max(diffs) > 0.01, "deblocking was expected to be skipped for 4x-shrunk keyframes"


@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".webm"])
def test_containers_without_a_full_index(media_talk_60s, tmp_path, suffix):
    if suffix == ".webm":  # WebM cannot hold H.264: re-encode to VP8 as browsers record it
        from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg

        path = tmp_path / "talk.webm"
        run_ffmpeg(
            ["-y", "-i", ffmpeg_input(media_talk_60s), "-t", "10", "-vf", "scale=320:180",
             "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "50", "-b:v", "200k",
             "-an", ffmpeg_input(path)],
            source_name="talk",
        )  # fmt: skip
        expected = 5
    else:
        path = remux(media_talk_60s, tmp_path / f"talk{suffix}")
        expected = 30
    frames, method = sample_frames(path, name=path.name)
    times = _times(frames)
    assert method == "keyframes" and len(frames) == expected
    assert times[-1] >= 2 * expected - 4 and (np.diff(times) > 0).all()


def test_rotated_video_frames_are_upright(silent_video, tmp_path):
    rotated = remux(silent_video, tmp_path / "portrait.mp4", "-display_rotation", "90")
    frames, _ = sample_frames(rotated, name="portrait.mp4")
    assert frames[0].image.shape == (640, 272, 3)  # stored 640x272, displayed portrait


def test_photo_slideshow_gives_one_distinct_frame_per_photo(photo_video):
    frames, method = sample_frames(photo_video, name="photos.mp4")
    assert method == "keyframes" and len(frames) == 3
    assert mean_abs_diff(frames[0].image, frames[1].image) > 20
    assert mean_abs_diff(frames[1].image, frames[2].image) > 20
    grey = frames[2].image  # the cameraman photo is greyscale
    assert np.abs(grey[..., 0].astype(int) - grey[..., 2].astype(int)).mean() < 2


def test_short_video_gives_one_frame(tmp_path, silent_video):
    frames, _ = sample_frames(silent_video, name="silent.mp4", rate_fps=0.1)
    assert len(frames) == 1 and frames[0].timestamp_s == 0.0


def test_bad_input(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n" * 10)
    with pytest.raises(InvalidMediaError, match=r"^uploads/notes.mp4: not a decodable video"):
        sample_frames(path, name="uploads/notes.mp4")


def test_encode_jpeg_roundtrip(media_talk_60s):
    frames, _ = sample_frames(media_talk_60s, name="talk.mp4", max_frames=2)
    data = encode_jpeg(frames[1].image, quality=85)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (640, 360) and image.mode == "RGB"
    assert mean_abs_diff(np.asarray(image), frames[1].image) < 4.0, "colours survive (RGB, not BGR)"
