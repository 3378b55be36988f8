"""Re-cut transcript segments at sentence ends and speaker changes.

Whisper decodes VAD chunks of up to 30 s, so one "segment" can hold a whole phone call. Subtitles, diarization
and the analytics tables want sentence- or turn-sized segments, each keeping its own words.
"""

from collections.abc import Iterable
from typing import Any

SENTENCE_END = (".", "?", "!", "。", "？", "！")
ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "jr.", "sr."})
LANGUAGES_WITHOUT_SPACES = frozenset({"ja", "zh", "yue", "th", "lo", "my", "km"})
MAX_SEGMENT_S = 20.0


def _joiner(language: str | None) -> str:
    return "" if language in LANGUAGES_WITHOUT_SPACES else " "


def _ends_sentence(word: str) -> bool:
    text = word.strip().strip("\"')]}»”")
    return text.endswith(SENTENCE_END) and text.lower() not in ABBREVIATIONS


def segment_from_words(words: list[dict[str, Any]], language: str | None) -> dict[str, Any]:
    timed = [w for w in words if "start" in w and "end" in w]
    segment = {
        "start": round(min(w["start"] for w in timed), 3) if timed else None,
        "end": round(max(w["end"] for w in timed), 3) if timed else None,
        "text": _joiner(language).join(w["word"] for w in words).strip(),
        "words": words,
    }
    speakers = [w["speaker"] for w in words if w.get("speaker")]
    if speakers:
        segment["speaker"] = max(set(speakers), key=speakers.count)
    return segment


def resegment(
    segments: Iterable[dict[str, Any]], language: str | None, *, by_speaker: bool = False,
    max_segment_s: float = MAX_SEGMENT_S,
) -> list[dict[str, Any]]:
    """Split every segment after sentence-ending words, on speaker changes (when `by_speaker`), and before a
    segment would exceed `max_segment_s`. Segments without words are kept as they are."""
    out: list[dict[str, Any]] = []
    for segment in segments:
        words = segment.get("words") or []
        if not words:
            out.append(segment)
            continue
        current: list[dict[str, Any]] = []
        for word in words:
            if current:
                first = next((w["start"] for w in current if "start" in w), None)
                too_long = first is not None and "end" in word and word["end"] - first > max_segment_s
                new_speaker = by_speaker and word.get("speaker") != current[-1].get("speaker")
                if new_speaker or too_long:
                    out.append(segment_from_words(current, language))
                    current = []
            current.append(word)
            if _ends_sentence(word["word"]):
                out.append(segment_from_words(current, language))
                current = []
        if current:
            out.append(segment_from_words(current, language))
    return [s for s in out if s["text"]]
