"""`vidassets process FILE --out DIR`: the same asset code as sensor runs, no S3, no daemon."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidassets.video_ids import video_id_for


def _process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidassets.cli", "process", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def corpus(speaking_video, tmp_path_factory) -> dict:
    """One file processed alone into DIR, then a second name for the same talk together with a file that is not a
    video into the same DIR: two `vidassets process` runs (the model loads and a 30 s talk each) shared by the
    tests below instead of four."""
    root = tmp_path_factory.mktemp("cli")
    out = root / "out dir"
    first = _process(str(speaking_video), "--out", str(out))
    ids_after_first = _voice_ids(out) if first.returncode == 0 else {}
    second_file, bad = root / "again.mp4", root / "notes.mp4"
    shutil.copy(speaking_video, second_file)
    bad.write_text("not a video\n" * 10)
    second = _process(str(second_file), str(bad), "--out", str(out))
    return {"out": out, "first": first, "second": second, "bad": bad, "ids_after_first": ids_after_first}


def _voice_ids(out: Path) -> dict[tuple[str, str], str]:
    from vidassets.analytics.query import run_query

    rows = run_query(str(out), "SELECT video_id, speaker, voice_id FROM voice_registry").to_dict("records")
    return {(r["video_id"], r["speaker"]): r["voice_id"] for r in rows}


def test_process_local_file_writes_every_asset(corpus, speaking_video):
    out, done = corpus["out"], corpus["first"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    steps = [line.split("]", 1)[1].split(" ...")[0].strip()
             for line in lines if line.startswith("[") and "done in" in line]
    for asset in ("source_video", "frames", "shots", "faces", "moderation", "audio", "transcript", "summary"):
        assert asset in steps, done.stdout
    assert steps.index("source_video") < steps.index("frames") < steps.index("moderation") < steps.index("audio")
    video_id = video_id_for("local", str(speaking_video.resolve()))
    video_dir = out / "assets" / "source_video" / video_id
    manifest = json.loads((video_dir / "manifest.json").read_text())
    assert manifest["source_uri"] == speaking_video.resolve().as_uri()
    assert (out / "assets" / "audio" / video_id / "audio.flac").stat().st_size > 10_000
    assert len(list((out / "assets" / "frames" / video_id).glob("frame_*.jpg"))) >= 10
    assert any("text_moderation" in line and "done in" in line for line in lines), done.stdout
    assert (out / "transcript.srt").is_file() and (out / "transcript.redacted.srt").is_file()


def test_process_bad_file_names_it_and_the_cause_and_processes_the_others(corpus):
    """A file that is not a video fails with its name and the cause; the file before it in the same run is
    processed whole, and the registry is still built over every video in DIR."""
    done, bad = corpus["second"], corpus["bad"]
    assert done.returncode == 1
    assert "source_video" in done.stdout and "FAILED" in done.stdout
    assert str(bad) in done.stdout
    assert "[corpus] speaker_registry ... done" in done.stdout, done.stdout


def test_process_missing_file(tmp_path):
    done = _process(str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_every_subcommand_parses_in_the_cli_package(capsys):
    """Each subcommand's own parser (its --help) is reached through `vidassets`, under its own prog name."""
    import pytest

    from vidassets.cli import COMMANDS, main

    for name in ["process", *COMMANDS]:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0, name
        assert capsys.readouterr().out.startswith(f"usage: vidassets {name} "), name


def test_no_command_line_code_outside_the_cli_package():
    """analytics/, api/ and workers/ take values and return data: no argparse, print or __main__ there."""
    import ast
    from pathlib import Path

    import vidassets

    package = Path(vidassets.__file__).parent
    found = []
    for path in sorted(p for sub in ("analytics", "api", "workers") for p in (package / sub).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(package)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{where} imports argparse" for n in names if n == "argparse"]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                found.append(f"{where} prints")
            elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "__name__":
                found.append(f"{where} has a __main__ block")
    assert found == []


def test_process_several_files_builds_the_speaker_registry(corpus, speaking_video):
    """The second run (two files: a second name for the talk, and one that fails) -> its outputs under
    DIR/<video_id>/, and the registry over both videos in DIR: every speaker has a corpus voice id in
    `voice_registry`, `segments` and the transcript JSON; the first video's ids are unchanged."""
    from vidassets.analytics.query import run_query

    out, done = corpus["out"], corpus["second"]
    assert "[corpus] speaker_registry ... done" in done.stdout and "[corpus] speaker_labels ... done" in done.stdout
    registry = run_query(str(out), "SELECT * FROM voice_registry").to_dict("records")
    videos = sorted({r["video_id"] for r in registry})
    assert len(videos) == 2
    second_id = video_id_for("local", str((out.parent / "again.mp4").resolve()))
    assert second_id in videos
    segments = json.loads((out / second_id / "transcript.json").read_text())["segments"]
    ids = {r["speaker"]: r["voice_id"] for r in registry if r["video_id"] == second_id}
    assert segments and all(s["voice_id"] == ids[s["speaker"]] for s in segments if s.get("speaker"))
    for video_id in videos:
        ids = {r["speaker"]: r["voice_id"] for r in registry if r["video_id"] == video_id}
        rows = run_query(str(out), f"SELECT speaker, voice_id FROM segments WHERE video_id = '{video_id}'"
                         ).to_dict("records")
        assert rows and all(r["voice_id"] == ids[r["speaker"]] for r in rows if r["speaker"])
    trusted = [r for r in registry if r["attracts"]]
    by_speaker = {}
    for r in trusted:
        by_speaker.setdefault(r["speaker"], set()).add(r["voice_id"])
    assert all(len(ids) == 1 for ids in by_speaker.values())  # a trusted voice heard twice is one voice
    first_ids = corpus["ids_after_first"]
    assert first_ids and all(_voice_ids(out)[key] == voice for key, voice in first_ids.items())  # renames nothing
