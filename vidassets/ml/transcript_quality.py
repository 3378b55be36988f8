"""Transcript quality against a reference STM: word error rate and phrase start-time error.

Used by `benchmarks/quality_speech.py` and the tests; pure Python, no extra packages.
"""

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidassets.ml.speech_types import Segment


@dataclass(frozen=True)
class Phrase:
    speaker: str
    start: float
    end: float
    text: str


def read_stm(path: Path) -> list[Phrase]:
    phrases = []
    for line in Path(path).read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and not line.startswith(";;"):
            phrases.append(Phrase(parts[2], float(parts[3]), float(parts[4]), parts[5]))
    return phrases


def normalize(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein distance."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1] / max(1, len(reference))


def phrase_start_errors(phrases: list[Phrase], segments: Sequence[Segment]) -> list[float]:
    """|hypothesis start - reference start| for every reference phrase whose first word is recognised,
    matching words by a sequence alignment of the normalised texts."""
    ref_words: list[str] = []
    ref_phrase_first: list[int] = []
    for phrase in phrases:
        ref_phrase_first.append(len(ref_words))
        ref_words += normalize(phrase.text)
    hyp_words: list[str] = []
    hyp_starts: list[float | None] = []
    for seg in segments:
        for word in seg.get("words", []):
            for token in normalize(word["word"]):
                hyp_words.append(token)
                hyp_starts.append(word.get("start"))
    matched: dict[int, int] = {}
    for block in difflib.SequenceMatcher(a=ref_words, b=hyp_words, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            matched[block.a + k] = block.b + k
    errors = []
    for phrase, first in zip(phrases, ref_phrase_first, strict=True):
        start = hyp_starts[matched[first]] if first in matched else None
        if start is not None:
            errors.append(abs(start - phrase.start))
    return errors
