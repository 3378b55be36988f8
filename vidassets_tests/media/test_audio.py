"""extract_audio: 16 kHz mono FLAC that keeps the speech, written atomically, clear errors."""

import av
import numpy as np
import pytest

from vidassets import samples
from vidassets.media.audio import audio_duration_s, extract_audio
from vidassets.media.errors import InvalidMediaError


def _read_mono(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
        return np.concatenate(chunks).astype(np.float32), stream.rate


def test_extract_audio_is_16k_mono_flac_of_the_whole_video(media_talk_720p, tmp_path):
    out = tmp_path / "audio" / "talk.flac"
    out.parent.mkdir()
    extract_audio(media_talk_720p, out, name="uploads/talk.mp4")
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert container.format.name == "flac"
        assert (stream.codec_context.name, stream.rate, stream.channels) == ("flac", 16000, 1)
    assert audio_duration_s(out) == pytest.approx(30.0, abs=0.1)
    assert sorted(p.name for p in out.parent.iterdir()) == ["talk.flac"], "no temp files left behind"


def test_extracted_audio_keeps_the_speech(media_talk_720p, tmp_path):
    """Loud where pyannote's reference RTTM says someone speaks, quiet in the 6.7 s before the first turn."""
    out = tmp_path / "talk.flac"
    extract_audio(media_talk_720p, out, name="talk.mp4")
    samples_, rate = _read_mono(out)
    turns = [line.split() for line in samples.speech_rttm().read_text().splitlines() if line.strip()]
    spans = [(float(t[3]), float(t[3]) + float(t[4])) for t in turns]
    speech = np.concatenate([samples_[int(start * rate) : int(end * rate)] for start, end in spans])
    before_first_turn = samples_[: int(6.5 * rate)]
    assert _rms(speech) > 3 * _rms(before_first_turn)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def test_custom_sample_rate_replaces_existing_output(media_talk_720p, tmp_path):
    out = tmp_path / "talk.flac"
    out.write_bytes(b"stale")
    extract_audio(media_talk_720p, out, name="talk.mp4", sample_rate=8000)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].rate == 8000


def test_video_without_audio_names_the_input(silent_video, tmp_path):
    out = tmp_path / "silent.flac"
    with pytest.raises(InvalidMediaError) as info:
        extract_audio(silent_video, out, name="uploads/silent.mp4")
    assert str(info.value) == "uploads/silent.mp4: has no audio stream"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_undecodable_input_names_the_input_not_the_scratch_path(tmp_path):
    bad = tmp_path / "scratch-3f9a.mp4"
    bad.write_text("not media\n" * 50)
    with pytest.raises(InvalidMediaError) as info:
        extract_audio(bad, tmp_path / "out.flac", name="s3://bucket/uploads/notes.mp4")
    message = str(info.value)
    assert message.startswith("s3://bucket/uploads/notes.mp4: ffmpeg failed")
    assert "Invalid data" in message and "scratch-3f9a" not in message and str(tmp_path) not in message


def test_audio_duration_errors(tmp_path, silent_video):
    with pytest.raises(InvalidMediaError, match="silent.mp4: has no audio stream"):
        audio_duration_s(silent_video, name="silent.mp4")
    assert audio_duration_s(samples.speech_wav()) == pytest.approx(30.0, abs=0.01)
