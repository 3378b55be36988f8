"""probe_video on real videos and on the bad uploads users actually send."""

import json
import pickle
from pathlib import Path

import pytest

from vidassets import samples
from vidassets.media.errors import InvalidMediaError
from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg
from vidassets.media.probe import probe_video
from vidassets_tests.media.helpers import remux

NAME = "uploads/Team Talk (final).mp4"


def test_probe_speaking_video(media_talk_720p):
    probe = probe_video(media_talk_720p, name=NAME)
    assert abs(probe.duration_s - 30.0) < 0.1
    assert probe.size_bytes == media_talk_720p.stat().st_size
    assert probe.container.startswith("mov,mp4")
    video = probe.video
    assert (video.codec, video.width, video.height) == ("h264", 1280, 720)
    assert video.fps == pytest.approx(25.0)
    assert video.frame_count == 750
    assert video.keyframe_interval_s == pytest.approx(2.0)
    assert video.rotation == 0
    assert probe.audio is not None
    assert (probe.audio.codec, probe.audio.sample_rate, probe.audio.channels) == ("aac", 44100, 1)
    assert probe.bit_rate and probe.bit_rate > 0
    as_dict = json.loads(json.dumps(probe.to_dict()))
    assert as_dict["video"]["width"] == 1280 and as_dict["audio"]["codec"] == "aac"


def test_probe_video_without_audio(silent_video):
    probe = probe_video(silent_video, name="uploads/silent.mp4")
    assert probe.audio is None and probe.to_dict()["audio"] is None
    assert (probe.video.width, probe.video.height) == (640, 272)
    assert abs(probe.duration_s - 4.0) < 0.1


def test_probe_other_containers_and_index_at_end(media_talk_60s, tmp_path):
    for suffix in (".mkv", ".ts", ".mov"):
        probe = probe_video(remux(media_talk_60s, tmp_path / f"talk{suffix}"), name=f"talk{suffix}")
        assert abs(probe.duration_s - 60.0) < 0.2 and probe.audio is not None
    # Phones write the index (moov) after the data.
    phone = samples.speaking_video(tmp_path / "phone.mp4", seconds=4.0, width=320, height=180, faststart=False)
    assert abs(probe_video(phone, name="phone.mp4").duration_s - 4.0) < 0.1


def test_probe_reports_display_rotation(silent_video, tmp_path):
    rotated = remux(silent_video, tmp_path / "portrait.mp4", "-display_rotation", "90")
    assert probe_video(rotated, name="portrait.mp4").video.rotation in (90, 270)


def _bad_inputs(talk: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, expected cause) for each kind of undecodable upload."""
    data = talk.read_bytes()
    index_last = remux(talk, tmp_path / "index_last.mp4")  # FFmpeg's default: moov after the data
    mkv = remux(talk, tmp_path / "talk.mkv").read_bytes()
    audio_only = tmp_path / "voice.m4a"
    run_ffmpeg(["-y", "-i", ffmpeg_input(talk), "-vn", "-c", "copy", ffmpeg_input(audio_only)], source_name="talk")
    files = {
        "empty.mp4": (b"", "file is empty (0 bytes)"),
        "notes.mp4": (b"this is a text file, not a video\n" * 20, "not a decodable video (Invalid data"),
        "cut_30pct.mp4": (data[: len(data) * 3 // 10], "truncated or corrupt"),
        "cut_5pct.mp4": (data[: len(data) // 20], "truncated or corrupt"),
        "cut_index_last.mp4": (index_last.read_bytes()[: len(data) * 3 // 10], "truncated or corrupt"),
        "cut_30pct.mkv": (mkv[: len(mkv) * 3 // 10], "truncated or corrupt"),
        "speech.wav": (samples.speech_wav().read_bytes(), "has no video stream"),
        "voice.m4a": (audio_only.read_bytes(), "has no video stream"),
    }
    out = {}
    for name, (body, cause) in files.items():
        path = tmp_path / f"bad_{name}"
        path.write_bytes(body)
        out[name] = (path, cause)
    return out


def test_bad_inputs_raise_invalid_media_error_naming_the_upload(media_talk_60s, tmp_path):
    for name, (path, cause) in _bad_inputs(media_talk_60s, tmp_path).items():
        display = f"s3://uploads/{name}"
        with pytest.raises(InvalidMediaError) as info:
            probe_video(path, name=display)
        message = str(info.value)
        assert message.startswith(f"{display}: "), message
        assert cause in message, message
        assert str(tmp_path) not in message, "scratch paths must not leak into user-facing errors"
        assert info.value.name == display and isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidMediaError, match="gone.mp4: file does not exist"):
        probe_video(tmp_path / "nope.mp4", name="gone.mp4")


def test_invalid_media_error_pickles():
    err = pickle.loads(pickle.dumps(InvalidMediaError("uploads/x.mp4", "file is empty (0 bytes)")))
    assert str(err) == "uploads/x.mp4: file is empty (0 bytes)"
    assert (err.name, err.cause) == ("uploads/x.mp4", "file is empty (0 bytes)")
