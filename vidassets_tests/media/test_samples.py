"""The sample media builders: real files from installed wheels, atomic outputs."""

import pytest

from vidassets import samples
from vidassets.media.probe import probe_video


def test_shipped_files_exist_and_have_license_notes():
    speech = [samples.speech_wav(), samples.speech_rttm(), samples.speech_stm()]
    for path in [*speech, *(samples.picture_path(picture) for picture in samples.PICTURES)]:
        assert path.is_file() and path.name in samples.sample_media_licenses
    assert "SPEAKER sample" in samples.speech_rttm().read_text()
    for photo in ("astronaut", "coffee", "camera"):
        assert samples.photo_path(photo).name in samples.sample_media_licenses


def test_unknown_inputs():
    with pytest.raises(ValueError):
        samples.picture_path("nope")
    with pytest.raises(FileNotFoundError):
        samples.photo_path("no-such-photo")


def test_builders_write_only_the_output(tmp_path):
    out = samples.silent_video(tmp_path / "clip.mp4", seconds=2.0, width=320, height=180)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    probe = probe_video(out, name="clip.mp4")
    assert (probe.video.width, probe.video.height, probe.audio) == (320, 180, None)
    assert probe.duration_s == pytest.approx(2.0, abs=0.05)


def test_photo_video(photo_video):
    probe = probe_video(photo_video, name="photos.mp4")
    assert probe.duration_s == pytest.approx(6.0, abs=0.1) and probe.audio is None
    assert (probe.video.width, probe.video.height) == (640, 480)
