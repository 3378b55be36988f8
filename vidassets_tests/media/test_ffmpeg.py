"""FFmpeg is found without a system install and always run with an argument list."""

import os
import shutil

import pytest

from vidassets.media import ffmpeg
from vidassets.media.audio import extract_audio
from vidassets.media.errors import InvalidMediaError
from vidassets.media.probe import probe_video

HOSTILE_NAME = "my talk 'final' \"v2\" $(touch pwned) `touch pwned2`; rm -rf x & ünïcødé ☃ -i.mp4"


def test_ffmpeg_exe_default_and_override(tmp_path):
    default = ffmpeg.ffmpeg_exe()
    assert os.access(default, os.X_OK)
    assert ffmpeg.ffmpeg_exe(str(tmp_path / "my-ffmpeg")) == str(tmp_path / "my-ffmpeg")


def test_the_configured_ffmpeg_is_the_one_run(media_talk_60s, tmp_path):
    """`ffmpeg=` (the VIDASSETS_FFMPEG setting) is what runs: a missing executable fails, the wheel's works."""
    with pytest.raises(FileNotFoundError):
        extract_audio(media_talk_60s, tmp_path / "a.flac", name="talk", ffmpeg=str(tmp_path / "no-such-ffmpeg"))
    extract_audio(media_talk_60s, tmp_path / "a.flac", name="talk", ffmpeg=ffmpeg.ffmpeg_exe())
    assert (tmp_path / "a.flac").stat().st_size > 0


def test_hostile_file_names_are_passed_verbatim(media_talk_60s, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / HOSTILE_NAME
    shutil.copyfile(media_talk_60s, src)
    out = tmp_path / ("-" + HOSTILE_NAME.replace(".mp4", ".flac"))
    extract_audio(src, out, name=HOSTILE_NAME)
    assert out.stat().st_size > 0
    assert probe_video(src, name=HOSTILE_NAME).duration_s == pytest.approx(60.0, abs=0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name]), "no stray files"
    assert not list(tmp_path.rglob("pwned*"))


def test_run_ffmpeg_failure_names_the_source(tmp_path):
    missing = tmp_path / "scratch" / "abc123.mp4"
    with pytest.raises(InvalidMediaError) as info:
        ffmpeg.run_ffmpeg(["-i", ffmpeg.ffmpeg_input(missing), "-f", "null", "-"], source_name="uploads/a.mp4")
    message = str(info.value)
    assert message.startswith("uploads/a.mp4: ffmpeg failed (exit ")
    assert "No such file or directory" in message and "abc123" not in message
