"""`vidassets process FILE --out DIR`: the same asset code as sensor runs, no S3, no daemon."""

import json
import subprocess
import sys


def _process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidassets.cli", "process", *args], capture_output=True, text=True, timeout=600
    )


def test_process_local_file_writes_every_asset(speaking_video, tmp_path):
    out = tmp_path / "out dir"
    done = _process(str(speaking_video), "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for position, asset in enumerate(["source_video", "frames", "moderation", "audio"], start=1):
        assert any(
            line.startswith(f"[{position}/") and asset in line and "done in" in line for line in lines
        ), done.stdout
    (video_dir,) = (out / "assets" / "source_video").iterdir()
    manifest = json.loads((video_dir / "manifest.json").read_text())
    assert manifest["source_uri"] == speaking_video.resolve().as_uri()
    assert (out / "assets" / "audio" / video_dir.name / "audio.flac").stat().st_size > 10_000
    assert len(list((out / "assets" / "frames" / video_dir.name).glob("frame_*.jpg"))) >= 10
    assert any("text_moderation" in line and "done in" in line for line in lines), done.stdout
    assert (out / "transcript.srt").is_file() and (out / "transcript.redacted.srt").is_file()


def test_process_bad_file_names_it_and_the_cause(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 10)
    done = _process(str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "source_video" in done.stdout and "FAILED" in done.stdout
    assert str(bad) in done.stdout


def test_process_missing_file(tmp_path):
    done = _process(str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "no such file" in done.stderr
