"""Subtitle writers (SRT/VTT validity, line lengths, speakers) and `vidassets export`."""

from __future__ import annotations

import copy
import html
import json
import re

import pytest

from vidassets.analytics.subtitles import (
    build_cues,
    format_timestamp,
    to_srt,
    to_txt,
    to_vtt,
    to_whisperx_json,
)
from vidassets.cli import main as cli_main
from vidassets_tests.analytics import manifests as m
from vidassets_tests.stores import store

SRT_TIME = r"(\d{2,}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2,}):(\d{2}):(\d{2})\.(\d{3})"
SPEAKER_PREFIX = re.compile(r"^\[SPEAKER_\d\d\]: \S")
MONOLOGUE = (
    "so the plan is that we hire four engineers in the spring and two more in the autumn while the budget for "
    "tooling stays flat which means that every team has to make choices about what to build first and what to "
    "postpone until the next planning cycle when we will have better numbers on revenue and on the cost of the "
    "new office"
)


def _seconds(groups: tuple[str, ...]) -> float:
    h, mi, s, ms = (int(g) for g in groups)
    assert mi < 60 and s < 60
    return h * 3600 + mi * 60 + s + ms / 1000


def parse_srt(text: str) -> list[tuple[float, float, list[str]]]:
    """A strict SRT parser: numbered blocks from 1, `start --> end`, text lines, one blank line between blocks."""
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    cues = []
    for number, block in enumerate(text.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), block
        match = re.fullmatch(rf"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert match, lines[1]
        assert len(lines[2:]) >= 1 and all(line.strip() for line in lines[2:]), block
        cues.append((_seconds(match.groups()[:4]), _seconds(match.groups()[4:]), lines[2:]))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, list[str]]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n"):].strip("\n").split("\n\n"):
        lines = block.split("\n")
        match = re.fullmatch(rf"{VTT_TIME} --> {VTT_TIME}", lines[0])
        assert match, lines[0]
        assert all(line.strip() and "-->" not in line for line in lines[1:]), block
        assert not re.search(r"<(?!/?[a-z])|&(?!amp;|lt;|gt;)", "\n".join(lines[1:])), block
        cues.append((_seconds(match.groups()[:4]), _seconds(match.groups()[4:]), [html.unescape(x) for x in lines[1:]]))
    return cues


def check_cues(cues, *, max_width=42, max_lines=2):
    previous_end = 0.0
    for start, end, lines in cues:
        assert previous_end <= start <= end, (previous_end, start, end)
        previous_end = end
        assert 1 <= len(lines) <= max_lines, lines
        assert SPEAKER_PREFIX.match(lines[0]), lines
        for line in lines:
            assert len(line) <= max_width or " " not in line.split(": ", 1)[-1], line


def _long_manifest() -> dict:
    """The diarized transcript plus a 64-word monologue, a segment without word times, a mid-segment speaker
    change, a long pause, and text that needs escaping."""
    manifest = copy.deepcopy(m.approved_manifests()["diarized_transcript"])
    words = MONOLOGUE.split()
    start = 20.0
    monologue = []
    for word in words:
        monologue.append({"word": word, "start": round(start, 3), "end": round(start + 0.25, 3), "score": 0.9,
                          "speaker": "SPEAKER_01"})
        start += 0.3
    manifest["segments"].append({"start": 20.0, "end": monologue[-1]["end"], "text": " ".join(words),
                                 "speaker": "SPEAKER_01", "words": monologue})
    manifest["segments"].append({"start": 50.0, "end": 54.0, "speaker": "SPEAKER_00",
                                 "text": "No word times here, only the segment's start and end <3 & -->"})
    mixed = [{"word": w, "start": 60 + i * 0.4, "end": 60.3 + i * 0.4, "speaker": sp}
             for i, (w, sp) in enumerate([("Yes", "SPEAKER_00"), ("indeed.", "SPEAKER_00"), ("Exactly", "SPEAKER_01"),
                                          ("right.", "SPEAKER_01")])]
    manifest["segments"].append({"start": 60.0, "end": 61.5, "speaker": "SPEAKER_00",
                                 "text": "Yes indeed. Exactly right.", "words": mixed})
    paused = [{"word": "Wait", "start": 70.0, "end": 70.3, "speaker": "SPEAKER_00"},
              {"word": "...", "start": 70.3, "end": 70.5, "speaker": "SPEAKER_00"},
              {"word": "okay.", "start": 75.0, "end": 75.4, "speaker": "SPEAKER_00"}]
    manifest["segments"].append({"start": 70.0, "end": 75.4, "speaker": "SPEAKER_00", "text": "Wait ... okay.",
                                 "words": paused})
    return manifest


def _cue_words(cues) -> list[str]:
    out = []
    for _, _, lines in cues:
        text = " ".join(lines)
        out += SPEAKER_PREFIX.sub(lambda mt: mt.group(0)[-1], text).split() if SPEAKER_PREFIX.match(text) else []
    return out


def test_srt_of_the_meeting():
    manifest = m.approved_manifests()["diarized_transcript"]
    srt = to_srt(manifest)
    cues = parse_srt(srt)
    check_cues(cues)
    assert srt.startswith(
        "1\n00:00:00,500 --> 00:00:02,500\n[SPEAKER_00]: Welcome to the\nquarterly planning review.\n")
    assert [lines[0].split(":")[0] for _, _, lines in cues] == [
        "[SPEAKER_00]", "[SPEAKER_00]", "[SPEAKER_00]", "[SPEAKER_01]", "[SPEAKER_01]", "[SPEAKER_00]"]
    all_words = [w["word"] for seg in manifest["segments"] for w in seg["words"]]
    assert _cue_words(cues) == all_words  # nothing lost, nothing reordered


def test_srt_and_vtt_are_valid_on_hard_input():
    manifest = _long_manifest()
    srt_cues = parse_srt(to_srt(manifest))
    vtt_cues = parse_vtt(to_vtt(manifest))
    check_cues(srt_cues)
    check_cues(vtt_cues)
    assert [(s, e) for s, e, _ in srt_cues] == [(s, e) for s, e, _ in vtt_cues]
    # The monologue (64 words, ~350 characters) needs several full-ish cues, no one-word orphan cue.
    mono = [c for c in srt_cues if 20.0 <= c[0] < 50]
    assert len(mono) >= 4 and min(len(" ".join(lines)) for _, _, lines in mono) > 40
    # Word-less segment: timed within the segment, escaped for VTT, '-->' defused in both.
    timeless = [c for c in vtt_cues if 50.0 <= c[0] < 60]
    assert timeless and timeless[0][0] == 50.0 and timeless[-1][1] <= 54.0
    assert "&lt;3 &amp; -&gt;" in to_vtt(manifest) and "<3 & ->" in "\n".join(timeless[-1][2])
    assert "<3 & ->" in to_srt(manifest)
    # Speaker change inside a segment -> two cues; a 4.5 s pause -> a new cue.
    at_60 = [lines[0] for s, _, lines in srt_cues if 60 <= s < 62]
    assert at_60 == ["[SPEAKER_00]: Yes indeed.", "[SPEAKER_01]: Exactly right."]
    at_70 = [(s, lines[0]) for s, _, lines in srt_cues if s >= 70]
    assert at_70 == [(70.0, "[SPEAKER_00]: Wait ..."), (75.0, "[SPEAKER_00]: okay.")]


def test_line_layout_options_and_languages_without_spaces():
    manifest = _long_manifest()
    cues = build_cues(manifest, max_line_width=30, max_line_count=3)
    assert max(len(c.lines) for c in cues) == 3
    assert all(len(line) <= 30 for c in cues for line in c.text.split("\n"))
    characters = "我们今天讨论预算和明年的招聘计划" * 3
    words = [{"word": ch, "start": i * 0.1, "end": i * 0.1 + 0.1} for i, ch in enumerate(characters)]
    chinese = {"language": "zh", "segments": [{"start": 0.0, "end": 3.0, "speaker": "SPEAKER_00", "text": "",
                                               "words": words}]}
    zh = build_cues(chinese)
    assert all(" " not in line for c in zh for line in c.lines)
    assert all(len(line) <= 42 for c in zh for line in c.text.split("\n"))


def test_undiarized_transcript_has_no_prefix():
    transcript = m.approved_manifests()["transcript"]
    cues = parse_srt(to_srt(transcript))
    assert cues and not any(lines[0].startswith("[") for _, _, lines in cues)
    assert to_txt(transcript).splitlines()[0] == "Welcome to the quarterly planning review."


def test_txt_and_json():
    manifest = m.approved_manifests()["diarized_transcript"]
    assert to_txt(manifest).splitlines() == [
        "[SPEAKER_00]: Welcome to the quarterly planning review.",
        "[SPEAKER_00]: Today we are going to look at the budget and the hiring plan for next year.",
        "[SPEAKER_01]: Thanks, I have the numbers ready.",
        "[SPEAKER_01]: The hiring plan adds four engineers in the spring.",
        "[SPEAKER_00]: Great, let's start with the budget.",
    ]
    result = json.loads(to_whisperx_json(manifest))
    assert set(result) == {"segments", "word_segments", "language"} and result["language"] == "en"
    assert len(result["segments"]) == 5 and len(result["word_segments"]) == 43
    assert result["segments"][2]["speaker"] == "SPEAKER_01"
    assert result["word_segments"][0] == {"word": "Welcome", "start": 0.5, "end": 0.9, "score": 0.98,
                                          "speaker": "SPEAKER_00"}


def test_timestamps():
    assert format_timestamp(0) == "00:00:00,000"
    assert format_timestamp(3725.4567) == "01:02:05,457"
    assert format_timestamp(59.9996, ".") == "00:01:00.000"
    assert format_timestamp(360_000) == "100:00:00,000"


def _publish(root: str) -> None:
    target = store(root)
    diarized = m.approved_manifests()["diarized_transcript"]
    target.put_bytes(f"assets/diarized_transcript/{m.APPROVED}/manifest.json", json.dumps(diarized).encode())
    plain = {**m.approved_manifests()["transcript"], "video_id": m.REJECTED}
    target.put_bytes(f"assets/transcript/{m.REJECTED}/manifest.json", json.dumps(plain).encode())


@pytest.mark.parametrize("fmt", ["srt", "vtt", "txt", "json"])
def test_export_main_to_file(root, fmt, tmp_path, capsys):
    _publish(root)
    out = tmp_path / "subs" / f"talk.{fmt}"
    assert cli_main(["export", m.APPROVED, "--format", fmt, "--root", root, "--out", str(out)]) == 0
    manifest = m.approved_manifests()["diarized_transcript"]
    text = out.read_text(encoding="utf-8")
    expected = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt, "json": to_whisperx_json}[fmt](manifest)
    assert text == expected
    assert f"wrote {out}" in capsys.readouterr().err
    assert not list(out.parent.glob(".tmp-*"))


def test_export_main_stdout_env_root_and_errors(local_root, monkeypatch, capsys):
    _publish(local_root)
    monkeypatch.setenv("VIDASSETS_STORAGE_ROOT", local_root)
    assert cli_main(["export", m.APPROVED]) == 0  # srt by default, to stdout
    check_cues(parse_srt(capsys.readouterr().out))
    assert cli_main(["export", m.APPROVED, "--format", "vtt", "--max-line-width", "30"]) == 0
    check_cues(parse_vtt(capsys.readouterr().out), max_width=30)

    assert cli_main(["export", m.REJECTED, "--format", "txt"]) == 0  # only a plain transcript: warned, no prefixes
    captured = capsys.readouterr()
    assert "no diarized transcript" in captured.err and not captured.out.startswith("[")

    assert cli_main(["export", m.FAILED]) == 1
    assert "no transcript for video" in capsys.readouterr().err
    assert cli_main(["export", "../../etc/passwd"]) == 1
    assert "not a video id" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli_main(["export", m.APPROVED, "--format", "docx"])
    assert info.value.code == 2


def test_cues_end_at_pauses_and_last_at_most_seven_seconds():
    # short words every 0.25 s for 20 s (slow speech: lines do not fill before 7 s), then a 1.5 s pause
    words = [{"word": "ok", "start": i * 0.25, "end": i * 0.25 + 0.2} for i in range(80)]
    words += [{"word": "then", "start": 21.5, "end": 21.8}, {"word": "bye", "start": 21.9, "end": 22.2}]
    manifest = {"language": "en", "segments": [{"start": 0.0, "end": 22.2, "speaker": "SPEAKER_00", "text": "",
                                                "words": words}]}
    cues = build_cues(manifest, max_line_width=200)
    assert all(c.end - c.start <= 7.0 + 1e-9 for c in cues), cues
    assert not any(c.start < 20.5 and c.end > 21.0 for c in cues)  # nothing on screen through the pause
    assert cues[-1].lines == ("then bye",) and cues[-1].start == 21.5
    assert sum(len(line.split()) for c in cues for line in c.lines) == len(words)
