"""Subtitles and transcripts from a diarized transcript manifest: SRT, WebVTT, plain text and WhisperX JSON.

Cue layout follows WhisperX's CLI writers (`whisperx/utils.py`, `SubtitlesWriter` with `--max_line_width 42
--max_line_count 2`): words are laid out greedily into lines of at most 42 characters, at most 2 lines per cue,
and every cue starts with `[SPEAKER_00]: `. Differences, on purpose (common broadcast rules):

- the speaker prefix counts towards the first line's width, so no line is longer than `max_line_width` (unless a
  single word is);
- a cue never spans two speakers or two segments (WhisperX labels a cue with its first word's speaker);
- a cue never spans a pause of more than `max_pause_s` (1 s; WhisperX: 3 s) and lasts at most `max_cue_s` (7 s)
  of word time, so nothing stays on screen through a silence;
- cue times come from word times (falling back to the segment's, then interpolated), never overlap and never go
  backwards, so players show them in order.

`vidassets export VIDEO_ID --format srt|vtt|txt|json [--root ROOT] [--out FILE]` reads
`<root>/assets/diarized_transcript/<video_id>/manifest.json` (falling back, with a warning, to the undiarized
`transcript` manifest).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidassets.storage import Store
from vidassets.storage.layout import manifest_key
from vidassets.video_ids import is_video_id

MAX_LINE_WIDTH = 42
MAX_LINE_COUNT = 2
LONG_PAUSE_S = 1.0
MAX_CUE_S = 7.0
FORMATS = ("srt", "vtt", "txt", "json")
LANGUAGES_WITHOUT_SPACES = frozenset({"ja", "zh", "yue", "th", "lo", "my", "km"})


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str | None
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        prefix = f"[{self.speaker}]: " if self.speaker else ""
        return prefix + "\n".join(self.lines)


@dataclass
class _Word:
    text: str
    start: float | None
    end: float | None
    speaker: str | None


def _num(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and result >= 0 else None


def _segment_words(segment: Mapping[str, Any]) -> list[_Word]:
    """The segment's words with a time on each: missing times are taken from neighbours or spread over the
    segment in proportion to word length."""
    seg_speaker = segment.get("speaker")
    raw = segment.get("words") or [{"word": w} for w in str(segment.get("text") or "").split()]
    words = [
        _Word(str(w.get("word") or "").strip(), _num(w.get("start")), _num(w.get("end")),
              w.get("speaker") or seg_speaker)
        for w in raw
    ]
    words = [w for w in words if w.text]
    if not words:
        return []
    seg_start, seg_end = _num(segment.get("start")), _num(segment.get("end"))
    if all(w.start is None for w in words) and seg_start is not None:
        end = seg_end if seg_end is not None and seg_end > seg_start else seg_start + 0.3 * len(words)
        total = sum(len(w.text) + 1 for w in words)
        cursor = seg_start
        for w in words:
            share = (end - seg_start) * (len(w.text) + 1) / total
            w.start, w.end = round(cursor, 3), round(cursor + share, 3)
            cursor += share
        return words
    for i, w in enumerate(words):  # fill gaps from neighbours
        if w.start is None:
            w.start = words[i - 1].end if i and words[i - 1].end is not None else seg_start
        if w.end is None:
            nxt = next((x.start for x in words[i + 1:] if x.start is not None), None)
            w.end = nxt if nxt is not None else (seg_end if seg_end is not None else w.start)
    return words


def _runs(words: list[_Word], long_pause_s: float) -> list[list[_Word]]:
    """Split a segment's words where the speaker changes or after a pause longer than `long_pause_s`."""
    runs: list[list[_Word]] = []
    for word in words:
        previous = runs[-1][-1] if runs else None
        if (previous is None or word.speaker != previous.speaker
                or (previous.end is not None and word.start is not None and word.start - previous.end > long_pause_s)):
            runs.append([word])
        else:
            runs[-1].append(word)
    return runs


def _too_long(lines: list[list[_Word]], word: _Word, max_cue_s: float) -> bool:
    start = lines[0][0].start if lines else None
    return start is not None and word.end is not None and word.end - start > max_cue_s


def _layout(words: list[_Word], joiner: str, width_limit: int, max_line_count: int,
            max_cue_s: float = MAX_CUE_S) -> list[list[list[_Word]]]:
    """Greedy layout of one speaker's run of words: cues of at most `max_line_count` lines of at most
    `width_limit` characters, the first line of each cue including the `[SPEAKER]: ` prefix, and at most
    `max_cue_s` from the first word's start to the last word's end."""
    cues: list[list[list[_Word]]] = []
    lines: list[list[_Word]] = []
    width = 0
    for word in words:
        needed = len(joiner) + len(word.text)
        if lines and _too_long(lines, word, max_cue_s):
            cues.append(lines)
            prefix = len(f"[{word.speaker}]: ") if word.speaker else 0
            lines, width = [[word]], prefix + len(word.text)
        elif lines and width + needed <= width_limit:
            lines[-1].append(word)
            width += needed
        elif lines and len(lines) < max_line_count:
            lines.append([word])
            width = len(word.text)
        else:
            if lines:
                cues.append(lines)
            prefix = len(f"[{word.speaker}]: ") if word.speaker else 0
            lines, width = [[word]], prefix + len(word.text)
    if lines:
        cues.append(lines)
    return cues


def _shape(cues: list[list[list[_Word]]]) -> tuple[int, int]:
    """(cues, lines) for a single cue, (cues, 0) otherwise: what balancing must not increase."""
    return (len(cues), len(cues[0]) if len(cues) == 1 else 0)


def _balanced_layout(words: list[_Word], joiner: str, max_line_width: int,
                     max_line_count: int, max_cue_s: float = MAX_CUE_S) -> list[list[list[_Word]]]:
    """As many cues as the greedy layout needs (and, for one cue, as many lines), with text spread evenly: the
    narrowest width that keeps that shape, so there is no orphan one-word cue or line."""
    best = _layout(words, joiner, max_line_width, max_line_count, max_cue_s)
    shape = _shape(best)
    low, high = 10, max_line_width
    while low < high:
        mid = (low + high) // 2
        if _shape(_layout(words, joiner, mid, max_line_count, max_cue_s)) <= shape:
            high = mid
        else:
            low = mid + 1
    candidate = _layout(words, joiner, low, max_line_count, max_cue_s)
    return candidate if _shape(candidate) <= shape else best


def build_cues(
    manifest: Mapping[str, Any],
    *,
    max_line_width: int = MAX_LINE_WIDTH,
    max_line_count: int = MAX_LINE_COUNT,
    long_pause_s: float = LONG_PAUSE_S,
    max_cue_s: float = MAX_CUE_S,
) -> list[Cue]:
    """Subtitle cues for every segment of a (diarized) transcript manifest: no cue across a pause longer than
    `long_pause_s`, none longer than `max_cue_s` (unless one word is)."""
    joiner = "" if manifest.get("language") in LANGUAGES_WITHOUT_SPACES else " "
    cues: list[Cue] = []
    for segment in manifest.get("segments") or []:
        for run in _runs(_segment_words(segment), long_pause_s):
            for lines in _balanced_layout(run, joiner, max_line_width, max_line_count, max_cue_s):
                cues.append(_make_cue(lines, joiner, segment))
    return _monotonic(cues)


def _make_cue(lines: list[list[_Word]], joiner: str, segment: Mapping[str, Any]) -> Cue:
    words = [w for line in lines for w in line]
    starts = [w.start for w in words if w.start is not None]
    ends = [w.end for w in words if w.end is not None]
    start = min(starts) if starts else (_num(segment.get("start")) or 0.0)
    end = max(ends) if ends else (_num(segment.get("end")) or start)
    text_lines = tuple(joiner.join(w.text for w in line) for line in lines)
    return Cue(start=start, end=max(end, start), speaker=words[0].speaker, lines=text_lines)


def _monotonic(cues: list[Cue]) -> list[Cue]:
    out: list[Cue] = []
    last_end = 0.0
    for cue in cues:
        start = max(cue.start, last_end)
        end = max(cue.end, start)
        out.append(Cue(start, end, cue.speaker, cue.lines))
        last_end = end
    return out


def format_timestamp(seconds: float, decimal_marker: str = ",") -> str:
    """`HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT); hours are always written."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def _srt_text(text: str) -> str:
    return text.replace("-->", "->")


def _vtt_text(text: str) -> str:
    return text.replace("-->", "->").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(manifest: Mapping[str, Any], **layout: Any) -> str:
    blocks = [
        f"{i}\n{format_timestamp(c.start)} --> {format_timestamp(c.end)}\n{_srt_text(c.text)}\n"
        for i, c in enumerate(build_cues(manifest, **layout), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(manifest: Mapping[str, Any], **layout: Any) -> str:
    blocks = [
        f"{format_timestamp(c.start, '.')} --> {format_timestamp(c.end, '.')}\n{_vtt_text(c.text)}\n"
        for c in build_cues(manifest, **layout)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_txt(manifest: Mapping[str, Any]) -> str:
    """One line per segment, `[SPEAKER_00]: text` (WhisperX's WriteTXT)."""
    lines = []
    for segment in manifest.get("segments") or []:
        text = " ".join(str(segment.get("text") or "").split())
        if not text:
            continue
        speaker = segment.get("speaker")
        lines.append(f"[{speaker}]: {text}" if speaker else text)
    return "\n".join(lines) + ("\n" if lines else "")


def to_whisperx_json(manifest: Mapping[str, Any]) -> str:
    """WhisperX's result shape: `{"segments": [{start, end, text, speaker, words}], "word_segments": [...],
    "language"}`."""
    segments = []
    word_segments = []
    for segment in manifest.get("segments") or []:
        entry = {"start": segment.get("start"), "end": segment.get("end"), "text": segment.get("text", "")}
        for key in ("speaker", "voice_id", "speaker_name"):  # the corpus voice and its name, when registered
            if segment.get(key):
                entry[key] = segment[key]
        words = [dict(w) for w in segment.get("words") or []]
        entry["words"] = words
        word_segments.extend(words)
        segments.append(entry)
    result = {"segments": segments, "word_segments": word_segments, "language": manifest.get("language")}
    return json.dumps(result, ensure_ascii=False) + "\n"


def render(manifest: Mapping[str, Any], fmt: str, **layout: Any) -> str:
    if fmt == "srt":
        return to_srt(manifest, **layout)
    if fmt == "vtt":
        return to_vtt(manifest, **layout)
    if fmt == "txt":
        return to_txt(manifest)
    if fmt == "json":
        return to_whisperx_json(manifest)
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")


# --------------------------------------------------------------------------------------------- CLI

class ExportError(RuntimeError):
    pass


def load_transcript(root: str | Store, video_id: str) -> tuple[dict[str, Any], bool]:
    """The diarized transcript manifest of `video_id` (or the plain transcript) under a storage root or its
    `Store`; returns (manifest, diarized)."""
    if not is_video_id(video_id):
        raise ExportError(f"{video_id!r} is not a video id (e.g. team-talk-cfe380202ac6)")
    store = root if isinstance(root, Store) else Store.for_root(root)
    for asset, diarized in (("diarized_transcript", True), ("transcript", False)):
        key = manifest_key(asset, video_id)
        try:
            data = store.find_bytes(key)
        except Exception as err:  # botocore / OS errors: report where we looked
            raise ExportError(f"cannot read {store.url(key)}: {err}") from err
        if data is not None:
            return json.loads(data), diarized
    raise ExportError(
        f"no transcript for video {video_id} under {store.root}/assets/diarized_transcript/ "
        "(unknown id, rejected by moderation, or not processed yet)"
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` (UTF-8, LF) through a temporary file in its folder and one rename."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
