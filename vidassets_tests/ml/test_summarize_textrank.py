"""The offline extractive summary on the real sample call: no repeated or filler lines, a title from the content."""

import re

import pytest
import soundfile as sf

from vidassets import samples
from vidassets.ml.der import read_rttm
from vidassets.ml.summarize import TextRankSummarizer, content_words
from vidassets.ml.transcript_quality import read_stm
from vidassets.ml.transcription import speaker_segments
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader


@pytest.fixture(scope="module")
def summarizer() -> TextRankSummarizer:
    return TextRankSummarizer()


@pytest.fixture(scope="module")
def whisper_segments() -> list:
    """tiny.en's transcript of the sample call, speakers from the reference turns (the pipeline's path)."""
    audio, _ = sf.read(samples.speech_wav(), dtype="float32")
    transcript = ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu")).transcribe(audio)
    return speaker_segments(read_rttm(samples.speech_rttm()), transcript)


def reference_segments() -> list:
    phrases = read_stm(samples.speech_stm())
    return [{"start": p.start, "end": p.end, "text": p.text, "speaker": p.speaker, "words": []} for p in phrases]


def _said(line: str) -> str:
    return " ".join(re.findall(r"[a-z']+", line.split(": ", 1)[-1].lower()))


@pytest.mark.parametrize("source", ["whisper", "reference"])
def test_summary_skips_repeats_and_filler_and_titles_by_content(source, summarizer, request):
    segments = request.getfixturevalue("whisper_segments") if source == "whisper" else reference_segments()
    texts = [s["text"] for s in segments]
    assert sum(_said(t) == "hello" for t in texts) >= 2, "the sample call opens with repeated greetings"
    result = summarizer.summarize(segments)

    chosen = [segments[i]["text"] for i in result.details["selected"]]
    assert chosen and len(chosen) <= 5
    said = [_said(t) for t in chosen]
    assert len(set(said)) == len(said), f"repeated lines in the summary: {chosen}"
    assert all(len(content_words(t)) >= 2 for t in chosen), f"filler lines in the summary: {chosen}"
    assert not re.search(r"\bhello\b", result.summary.lower()), result.summary

    assert result.title.rstrip("…") not in texts[-1], f"title is the last line: {result.title!r}"
    assert len(content_words(result.title)) >= 2, result.title
    assert set(content_words(result.title)) & set(result.topics), (result.title, result.topics)
    assert "hello" not in result.topics and {"jersey", "chicago"} <= set(result.topics), result.topics


def test_a_slide_title_is_the_title_and_its_words_lead_the_topics(summarizer):
    """Slide titles (screen_text) are the best topic signal a talk has: the one longest on screen is the title."""
    segments = reference_segments()
    titles = ["Hello", "Quarterly Revenue Review: Northeast Region", "Revenue by region"]
    result = summarizer.summarize(segments, screen_titles=titles)
    assert result.title == "Quarterly Revenue Review: Northeast Region"  # "Hello" has no content word
    assert result.details["title_from"] == "slide" and result.details["screen_titles"] == 3
    assert result.topics[0] == "revenue" and "region" in result.topics, result.topics
    plain = summarizer.summarize(segments)
    assert plain.details["title_from"] == "transcript" and plain.title != result.title
