"""Redact personal data from a transcript, word by word, so the same spans can later be bleeped in the audio.

Detection is Presidio's pattern recognizers (no spaCy model is loaded): e-mail addresses (with a TLD check on the
public-suffix snapshot tldextract ships, never fetched), phone numbers (Google's libphonenumber via `phonenumbers`,
valid numbers only), card numbers (Luhn-checked), IBANs (checksum-checked) and US social security numbers.

Speech transcripts rarely look like written text, so every segment is read twice:

- as written: the words joined with spaces (`call 415-867-5309`, `anna@gmail.com`);
- as spoken: number words become digits and runs of digits are joined (`four one five ...` -> `415...`),
  `at`/`dot`/`dash`/`underscore` become `@ . - _` glued to their neighbours (`anna at gmail dot com` ->
  `anna@gmail.com`).

A match in either reading masks every word it touches; the words of one match become a single tag word
(`[EMAIL]`, `[PHONE]`, ...) spanning their times. English number words only; written forms work in any language.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from vidassets.ml.speech_types import Segment

METHOD = "presidio-analyzer pattern recognizers (email+tld, phonenumbers, Luhn card, IBAN, US SSN) over written " \
    "and spoken-number readings of each segment"

# Presidio entity -> tag written into the redacted transcript.
TAGS: dict[str, str] = {
    "EMAIL_ADDRESS": "[EMAIL]",
    "PHONE_NUMBER": "[PHONE]",
    "CREDIT_CARD": "[CARD]",
    "IBAN_CODE": "[IBAN]",
    "US_SSN": "[SSN]",
}
DEFAULT_ENTITIES: tuple[str, ...] = tuple(TAGS)
MIN_SCORE = 0.4  # presidio's phone recognizer scores every valid number 0.4; weak SSN patterns score 0.05
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", "AU", "IE", "ES", "IT", "NL")

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
# Words speech recognizers write for a spoken digit inside a digit run ("for one one", "to", "won").
_DIGIT_HOMOPHONES = {"for": "4", "to": "2", "too": "2", "won": "1", "ate": "8"}
_AMBIGUOUS_ZERO = {"oh", "o"}
_REPEAT = {"double": 2, "triple": 3}
_SPOKEN_SYMBOLS = {
    "at": "@", "dot": ".", "period": ".", "dash": "-", "hyphen": "-", "underscore": "_", "plus": "+",
}
_EDGE_PUNCT = ".,;:!?\"'()[]{}"


@dataclass(frozen=True)
class Redaction:
    """One detected entity: the words `word_start`..`word_end - 1` of segment `segment_index`."""

    segment_index: int
    word_start: int
    word_end: int
    start: float | None
    end: float | None
    entity: str
    score: float
    reading: str  # "written" or "spoken"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RedactionResult:
    # the transcript's segments, redacted: `Segment`s whose tagged words carry `redacted` (the entity) and, for a
    # segment that had no word times, words with null times (the redacted transcript files keep that shape)
    segments: list[dict[str, Any]]
    redactions: list[Redaction]
    mask: list[dict[str, Any]]  # one entry per masked word: segment, word, start, end, entity

    def redacted_texts(self) -> list[dict[str, Any]]:
        """`{segment_index, text}` of each segment that had personal data, as redacted (for the warehouse)."""
        touched = sorted({r.segment_index for r in self.redactions})
        return [{"segment_index": i, "text": self.segments[i]["text"]} for i in touched]

    def entity_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.redactions:
            counts[r.entity] = counts.get(r.entity, 0) + 1
        return counts


class _Reading:
    """A text built from tokens, remembering which word each character came from."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, int]] = []  # (char start, char end, word index)
        self.length = 0

    def add(self, text: str, word_indices: list[int], glue: bool) -> None:
        if self.parts and not glue:
            self.parts.append(" ")
            self.length += 1
        self.spans.extend((self.length, self.length + len(text), index) for index in word_indices)
        self.parts.append(text)
        self.length += len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def words_in(self, start: int, end: int) -> list[int]:
        return sorted({w for s, e, w in self.spans if s < end and e > start})


def _bare(word: str) -> str:
    return word.strip().strip(_EDGE_PUNCT).lower()


def _number_value(tokens: list[str], i: int) -> tuple[str, int] | None:
    """The digits spoken at tokens[i:] (`twenty one` -> 21, `double five` -> 55, `five` -> 5) and how many
    tokens they used; None when tokens[i] is not a number word."""
    word = tokens[i]
    if word in _REPEAT and i + 1 < len(tokens) and tokens[i + 1] in _UNITS and _UNITS[tokens[i + 1]] < 10:
        return str(_UNITS[tokens[i + 1]]) * _REPEAT[word], 2
    if word in _TENS:
        if i + 1 < len(tokens) and tokens[i + 1] in _UNITS and 0 < _UNITS[tokens[i + 1]] < 10:
            return str(_TENS[word] + _UNITS[tokens[i + 1]]), 2
        return str(_TENS[word]), 1
    if word in _UNITS:
        if i + 1 < len(tokens) and tokens[i + 1] == "hundred":
            return str(_UNITS[word] * 100), 2
        return str(_UNITS[word]), 1
    return None


def _spoken_tokens(words: list[str]) -> list[tuple[str, list[int], str]]:
    """(text, word indices, kind) with kind "digits", "symbol" or "word"."""
    bare = [_bare(w) for w in words]
    out: list[tuple[str, list[int], str]] = []
    i = 0
    while i < len(words):
        raw = words[i].strip().strip(_EDGE_PUNCT.replace(".", "").replace("'", "")).rstrip(".")
        compact = raw.replace("-", "").replace("(", "").replace(")", "")
        number = _number_value(bare, i)
        if compact.isdigit() or (compact.startswith("+") and compact[1:].isdigit()):
            out.append((compact, [i], "digits"))
            i += 1
        elif number is not None:
            digits, used = number
            out.append((digits, list(range(i, i + used)), "digits"))
            i += used
        elif bare[i] in _SPOKEN_SYMBOLS:
            out.append((_SPOKEN_SYMBOLS[bare[i]], [i], "symbol"))
            i += 1
        else:
            out.append((raw, [i], "word"))
            i += 1
    # A homophone or "oh" counts as a digit only between digits ("four one for one", "five oh two").
    for k, (text, idx, kind) in enumerate(out):
        key = text.lower()
        if kind == "word" and (key in _DIGIT_HOMOPHONES or key in _AMBIGUOUS_ZERO):
            before = k > 0 and out[k - 1][2] == "digits"
            after = k + 1 < len(out) and out[k + 1][2] == "digits"
            if before and after or (key in _DIGIT_HOMOPHONES and (before or after)):
                out[k] = (_DIGIT_HOMOPHONES.get(key, "0"), idx, "digits")
    return out


def written_reading(words: list[str]) -> _Reading:
    reading = _Reading()
    for i, word in enumerate(words):
        reading.add(word.strip(), [i], glue=False)
    return reading


def spoken_reading(words: list[str]) -> _Reading:
    """Number words as digits (one run per spoken number), `at`/`dot`/... as symbols glued to their neighbours."""
    reading = _Reading()
    previous_kind, previous_text = None, ""
    for text, indices, kind in _spoken_tokens(words):
        glue = (
            kind == "symbol" or previous_kind == "symbol" or (kind == "digits" and previous_kind == "digits")
            or text.startswith((".", "@")) or previous_text.endswith("@")
        )
        reading.add(text, indices, glue=glue)
        previous_kind, previous_text = kind, text
    return reading


@cache
def _recognizers(entities: tuple[str, ...]) -> list[Any]:
    """Presidio's recognizers for `entities` (imported lazily: presidio imports spaCy, ~2 s)."""
    import tldextract
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    offline_tlds = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled snapshot, no fetch

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_tlds(pattern_text.rsplit("@", 1)[-1]).fqdn != ""

    factories: dict[str, Callable[[], Any]] = {
        "EMAIL_ADDRESS": OfflineEmailRecognizer,
        "PHONE_NUMBER": lambda: PhoneRecognizer(supported_regions=PHONE_REGIONS),
        "CREDIT_CARD": CreditCardRecognizer,
        "IBAN_CODE": IbanRecognizer,
        "US_SSN": UsSsnRecognizer,
    }
    return [factories[e]() for e in entities]


def check_entities(entities: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(entities))
    unknown = [e for e in chosen if e not in TAGS]
    if unknown:
        raise ValueError(f"unknown PII entities {unknown}; known: {', '.join(TAGS)}")
    return chosen


def find_entities(words: list[str], entities: Iterable[str] = DEFAULT_ENTITIES,
                  min_score: float = MIN_SCORE) -> list[tuple[int, int, str, float, str]]:
    """(first word, last word + 1, entity, score, reading) of each entity found in the words, overlaps merged
    (the higher score names the merged span)."""
    chosen = check_entities(entities)
    found: list[tuple[int, int, str, float, str]] = []
    for name, reading in (("written", written_reading(words)), ("spoken", spoken_reading(words))):
        text = reading.text
        for recognizer in _recognizers(chosen):
            for hit in recognizer.analyze(text, recognizer.supported_entities, None):
                if hit.score < min_score or hit.entity_type not in chosen:
                    continue
                covered = reading.words_in(hit.start, hit.end)
                if covered:
                    found.append((covered[0], covered[-1] + 1, hit.entity_type, float(hit.score), name))
    found.sort(key=lambda f: (f[0], -f[3]))
    merged: list[tuple[int, int, str, float, str]] = []
    for item in found:
        if merged and item[0] < merged[-1][1]:
            last = merged[-1]
            best = last if last[3] >= item[3] else item
            merged[-1] = (last[0], max(last[1], item[1]), best[2], best[3], best[4])
        else:
            merged.append(item)
    return merged


def _segment_words(segment: Segment) -> list[dict[str, Any]]:
    """The segment's word dicts; a segment without word times gets words from its text (times null)."""
    words = segment.get("words")
    if words:
        return [dict(w) for w in words]
    return [{"word": token, "start": None, "end": None} for token in str(segment.get("text") or "").split()]


def _tag_word(words: list[dict[str, Any]], entity: str) -> dict[str, Any]:
    first, last = words[0], words[-1]
    trailing = re.search(r"[.,;:!?]+$", str(last.get("word", "")).strip())
    tag = {"word": TAGS[entity] + (trailing.group(0) if trailing else ""), "start": first.get("start"),
           "end": last.get("end"), "redacted": entity}
    if first.get("speaker"):
        tag["speaker"] = first["speaker"]
    return tag


def redact_segments(segments: Sequence[Segment], entities: Iterable[str] = DEFAULT_ENTITIES,
                    min_score: float = MIN_SCORE) -> RedactionResult:
    """The segments with every detected entity replaced by its tag (text and words), the redactions and a
    word-level mask; segments without personal data are returned unchanged."""
    chosen = check_entities(entities)
    out_segments: list[dict[str, Any]] = []
    redactions: list[Redaction] = []
    mask: list[dict[str, Any]] = []
    for seg_index, segment in enumerate(segments):
        words = _segment_words(segment)
        hits = find_entities([str(w.get("word", "")) for w in words], chosen, min_score)
        if not hits:
            out_segments.append(dict(segment))
            continue
        new_words: list[dict[str, Any]] = []
        cursor = 0
        for first, end, entity, score, reading in hits:
            new_words.extend(words[cursor:first])
            covered = words[first:end]
            new_words.append(_tag_word(covered, entity))
            redactions.append(Redaction(seg_index, first, end, covered[0].get("start"), covered[-1].get("end"),
                                        entity, round(score, 3), reading))
            mask.extend({"segment_index": seg_index, "word_index": first + k, "start": w.get("start"),
                         "end": w.get("end"), "entity": entity} for k, w in enumerate(covered))
            cursor = end
        new_words.extend(words[cursor:])
        redacted = dict(segment)
        redacted["text"] = " ".join(str(w.get("word", "")).strip() for w in new_words)
        if segment.get("words"):
            redacted["words"] = new_words
        out_segments.append(redacted)
    return RedactionResult(out_segments, redactions, mask)
