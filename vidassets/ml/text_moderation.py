"""Spoken-content moderation: a score per transcript segment and category, a flag per segment, a verdict per video.

Two scorers behind one protocol (`TextModerator`):

- `ProfanityCheckModerator`, the offline default: alt-profanity-check's TF-IDF + linear SVM, which ships in its
  wheel (MIT). One category (`profanity`: offensive or profane language), English only.
- `HFTextClassifierModerator`, the production path: any local Hugging Face sequence-classification directory
  (Detoxify's checkpoints, unitary/toxic-bert, multilingual XLM-R toxicity models...), loaded from disk only.
  Its labels are mapped to our categories (`toxic` -> `toxicity`, `identity_hate` -> `identity_attack`, ...);
  neutral labels (`non-toxic`, `neutral`) are ignored.

A transcript in a language the scorer does not support gets the verdict `unsupported_language` and no scores,
never scores of a model reading a language it was not trained on.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from vidassets.ml.speech_types import Segment
from vidassets.ml.whisper_weights import ModelNotFoundError

CATEGORIES = (
    "toxicity", "severe_toxicity", "obscene", "insult", "threat", "identity_attack", "sexual_explicit", "profanity",
)
LABEL_ALIASES: dict[str, str] = {
    **{c: c for c in CATEGORIES},
    "toxic": "toxicity", "severe_toxic": "severe_toxicity", "identity_hate": "identity_attack",
    "hate": "identity_attack",
    "offensive": "toxicity", "abusive": "toxicity", "sexually_explicit": "sexual_explicit", "sexual": "sexual_explicit",
    "profane": "profanity", "threatening": "threat", "insulting": "insult",
}
NEUTRAL_LABELS = frozenset({"neutral", "non-toxic", "non_toxic", "nontoxic", "not_toxic", "normal", "ok", "clean",
                            "none", "safe"})
VERDICTS = ("approved", "flagged", "rejected", "unsupported_language", "no_speech")
ACTIONS = ("flag", "reject")


class TextModerator(Protocol):
    name: str  # the model, e.g. "alt-profanity-check 1.9.1"
    method: str  # how it scores, e.g. "TF-IDF + linear SVM"
    categories: tuple[str, ...]
    languages: frozenset[str] | None  # ISO 639-1 codes it was trained on; None: any

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One {category: probability} per text."""
        ...


class ProfanityCheckModerator:
    """alt-profanity-check's linear model (loaded from its wheel on first use): English offensive language."""

    categories: tuple[str, ...] = ("profanity",)
    languages: frozenset[str] | None = frozenset({"en"})

    def __init__(self) -> None:
        self.name = f"alt-profanity-check {version('alt-profanity-check')}"
        self.method = "TF-IDF + calibrated linear SVM (scikit-learn), offensive/profane language, English"

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        from profanity_check import predict_prob

        return [{"profanity": round(float(p), 4)} for p in predict_prob(list(texts))]


def parse_label_map(spec: str | None) -> dict[str, str]:
    """`label=category,label2=category` (configuration strings) -> dict; `label=` ignores that label."""
    mapping: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        label, sep, category = item.partition("=")
        if not sep:
            raise ValueError(f"text moderation label map: {item!r} is not label=category")
        mapping[label.strip()] = category.strip()
    return mapping


def map_labels(labels: Sequence[str], overrides: Mapping[str, str] | None = None) -> list[str | None]:
    """Our category for each model label (None: ignored), or a ValueError naming the labels it cannot place."""
    overrides = dict(overrides or {})
    mapped: list[str | None] = []
    unknown = []
    for label in labels:
        key = label.strip().lower().replace(" ", "_")
        if label in overrides:
            category = overrides[label] or None
        elif key in LABEL_ALIASES:
            category = LABEL_ALIASES[key]
        elif key in NEUTRAL_LABELS:
            category = None
        else:
            unknown.append(label)
            continue
        if category is not None and category not in CATEGORIES:
            raise ValueError(f"label {label!r} mapped to unknown category {category!r}; categories: "
                             f"{', '.join(CATEGORIES)}")
        mapped.append(category)
    if unknown:
        raise ValueError(f"model labels {unknown} have no category: map them with "
                         f"VIDASSETS_TEXT_MODERATION_LABELS='label=category,...' (categories: {', '.join(CATEGORIES)};"
                         " an empty category ignores the label)")
    if not any(mapped):
        raise ValueError(f"none of the model labels {list(labels)} maps to a moderation category")
    return mapped


class HFTextClassifierModerator:
    """A local transformers sequence-classification model; multi-label models get sigmoids, others softmax."""

    def __init__(self, model_dir: str | Path, *, device: str = "cpu", languages: Sequence[str] | None = ("en",),
                 label_map: Mapping[str, str] | None = None, batch_size: int = 16, max_length: int = 256):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"text moderation model {model_dir!r} is not a local Hugging Face model directory (config.json "
                "missing); set VIDASSETS_TEXT_MODERATION_MODEL to one, or unset it for the offline default"
            )
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).to(device).eval()
        config = self.model.config
        labels = [config.id2label[i] for i in range(config.num_labels)]
        self.label_categories = map_labels(labels, label_map)
        self.categories = tuple(dict.fromkeys(c for c in self.label_categories if c))
        multi = config.problem_type == "multi_label_classification" or config.num_labels == 1
        self.activation = "sigmoid" if multi else "softmax"
        self.languages = frozenset(languages) if languages else None
        self.device, self.batch_size, self.max_length = device, batch_size, max_length
        self._torch = torch
        arch = (config.architectures or [type(self.model).__name__])[0]
        self.name = f"{path.name} ({arch})"
        self.method = f"transformers sequence classification, {self.activation} over {config.num_labels} labels"

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        torch = self._torch
        out: list[dict[str, float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i:i + self.batch_size])
            inputs = self.tokenizer(batch, truncation=True, max_length=self.max_length, padding=True,
                                    return_tensors="pt").to(self.device)
            with torch.inference_mode():
                logits = self.model(**inputs).logits.float()
            probs = torch.sigmoid(logits) if self.activation == "sigmoid" else torch.softmax(logits, dim=-1)
            for row in probs.cpu().tolist():
                scores: dict[str, float] = {}
                for category, p in zip(self.label_categories, row, strict=True):
                    if category:
                        scores[category] = round(max(scores.get(category, 0.0), float(p)), 4)
                out.append(scores)
        return out


def load_text_moderator(model: str | None, *, device: str = "cpu", languages: Sequence[str] | None = ("en",),
                        label_map: Mapping[str, str] | None = None) -> TextModerator:
    """The configured local model directory, or the offline default when `model` is empty."""
    if not model:
        return ProfanityCheckModerator()
    return HFTextClassifierModerator(model, device=device, languages=languages, label_map=label_map)


@dataclass(frozen=True)
class TextModerationPolicy:
    """Flag a segment when a category's score reaches its threshold; with action `reject`, reject the video when
    flagged segments make up more than `reject_share` of its speech time."""

    action: str = "flag"
    threshold: float = 0.5
    category_thresholds: dict[str, float] = field(default_factory=dict)
    reject_share: float = 0.1

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {self.action!r}")
        unknown = sorted(set(self.category_thresholds) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories in category_thresholds: {unknown}; known: {', '.join(CATEGORIES)}")
        for name, value in {"threshold": self.threshold, **self.category_thresholds}.items():
            if not 0.0 < value <= 1.0:
                raise ValueError(f"threshold for {name} must be in (0, 1], got {value}")
        if not 0.0 <= self.reject_share < 1.0:
            raise ValueError(f"reject_share must be in [0, 1), got {self.reject_share}")

    def threshold_for(self, category: str) -> float:
        return self.category_thresholds.get(category, self.threshold)

    def flagged(self, scores: Mapping[str, float]) -> list[str]:
        return [c for c, s in scores.items() if s >= self.threshold_for(c)]


def _duration(segment: Segment) -> float:
    start, end = segment.get("start"), segment.get("end")
    if start is None or end is None:
        return 0.0
    value = float(end) - float(start)
    return value if math.isfinite(value) and value > 0 else 0.0


def moderate_segments(moderator: TextModerator, policy: TextModerationPolicy,
                      segments: Sequence[Segment], language: str | None) -> dict[str, Any]:
    """Scores, flags and the verdict for one transcript (a list of segments with `text`, `start`, `end`,
    `speaker`). Nothing here depends on Dagster; the asset adds storage and UI."""
    base: dict[str, Any] = {
        "language": language,
        "model": moderator.name,
        "method": moderator.method,
        "categories": list(moderator.categories),
        "model_languages": sorted(moderator.languages) if moderator.languages is not None else None,
        "policy": asdict(policy),
        "speech_s": round(sum(_duration(s) for s in segments), 3),
    }
    empty = {"segments": [], "flagged_segments": 0, "flagged_speech_s": 0.0, "flagged_share": 0.0,
             "category_counts": {}}
    if not segments:
        return {**base, **empty, "verdict": "no_speech", "reasons": ["no speech"]}
    if moderator.languages is not None and language not in moderator.languages:
        supported = ", ".join(sorted(moderator.languages))
        spoken = language or "unknown"
        reason = f"{moderator.name} supports {supported}; the transcript language is {spoken}: not scored"
        return {**base, **empty, "verdict": "unsupported_language", "reasons": [reason]}
    texts = [str(s.get("text") or "").strip() for s in segments]
    scores = moderator.score(texts)
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    flagged_s = 0.0
    for index, (segment, seg_scores) in enumerate(zip(segments, scores, strict=True)):
        hits = policy.flagged(seg_scores) if texts[index] else []
        for category in hits:
            counts[category] = counts.get(category, 0) + 1
        if hits:
            flagged_s += _duration(segment)
        rows.append({"segment_index": index, "start": segment.get("start"), "end": segment.get("end"),
                     "speaker": segment.get("speaker"), "scores": seg_scores, "flagged": bool(hits),
                     "flagged_categories": hits})
    speech_s = base["speech_s"]
    share = flagged_s / speech_s if speech_s else (1.0 if any(r["flagged"] for r in rows) else 0.0)
    flagged_count = sum(r["flagged"] for r in rows)
    reasons = [f"{category}: {n} segment(s) at or above {policy.threshold_for(category):.2f}"
               for category, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    if policy.action == "reject" and flagged_count and share > policy.reject_share:
        verdict = "rejected"
        reasons.insert(0, f"{share:.0%} of speech time flagged (limit {policy.reject_share:.0%})")
    else:
        verdict = "flagged" if flagged_count else "approved"
    return {**base, "verdict": verdict, "reasons": reasons, "segments": rows, "flagged_segments": flagged_count,
            "flagged_speech_s": round(flagged_s, 3), "flagged_share": round(share, 4), "category_counts": counts}
