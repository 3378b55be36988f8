"""The production alignment path (`ModelLoader.aligner` -> `load_align_model` -> `align_words` -> `whisperx.align`)
on a real tiny.en transcript of pyannote's sample call, with a tiny random wav2vec2 CTC model built offline.

The aligner's weights are random, so word times are meaningless; what is checked is everything that does not
depend on them: sentence splitting, word/segment structure, monotonic times, texts kept, scores in range,
the model cache, the errors for a missing model and that nothing was downloaded.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vidassets.ml.alignment import align_words, ensure_punkt_tab, load_align_model
from vidassets.ml.whisper_weights import ModelNotFoundError
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader
from vidassets.samples import speech_wav
from vidassets.settings import load_settings
from vidassets_tests.ml.model_builders import build_tiny_wav2vec2, files_under, offline_guard

TOLERANCE_S = 0.02  # whisperx rounds char times to 1 ms; segment/word bounds come from the same chars


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("offline-align")
    with pytest.MonkeyPatch.context() as mp:
        yield {"home": home, "attempts": offline_guard(mp, home)}


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    from faster_whisper import decode_audio

    return decode_audio(str(speech_wav()), sampling_rate=16_000)


@pytest.fixture(scope="module")
def align_dir(offline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_wav2vec2(tmp_path_factory.mktemp("wav2vec2-tiny"))


@pytest.fixture(scope="module")
def transcript(offline, audio) -> dict[str, Any]:
    recognizer = ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu")).recognizer()
    return recognizer.transcribe(audio, language="en", batch_size=8, word_timestamps=False)


@pytest.fixture(scope="module")
def aligned(offline, audio, align_dir, transcript) -> list[dict[str, Any]]:
    model, metadata = ModelLoader(ModelConfig(align_model=str(align_dir), device="cpu")).aligner("en")
    return align_words(transcript["segments"], audio, model, metadata, "cpu")


def _letters(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_transcript_is_real_speech(transcript):
    text = " ".join(s["text"] for s in transcript["segments"]).lower()
    assert "new jersey" in text and "chicago" in text, text


def test_segments_are_sentences(aligned, transcript):
    assert len(aligned) > len(transcript["segments"]) >= 1
    assert len(aligned) > 1
    # every segment but possibly the last of a Whisper segment ends a sentence (untrained Punkt: . ? !)
    assert sum(s["text"].endswith((".", "?", "!")) for s in aligned) >= len(aligned) - len(transcript["segments"])
    starts = [s["start"] for s in aligned]
    assert starts == sorted(starts)


def test_texts_are_preserved(aligned, transcript):
    assert _letters("".join(s["text"] for s in aligned)) == _letters("".join(s["text"] for s in transcript["segments"]))
    for seg in aligned:
        assert seg["text"] == seg["text"].strip() and seg["text"]
        assert _letters("".join(w["word"] for w in seg["words"])) == _letters(seg["text"])


def test_word_times_and_scores(aligned, transcript, audio):
    first, last = transcript["segments"][0]["start"], transcript["segments"][-1]["end"]
    duration = audio.size / 16_000
    for seg in aligned:
        assert first - TOLERANCE_S <= seg["start"] <= seg["end"] <= min(last, duration) + TOLERANCE_S, seg
        words = seg["words"]
        assert words, seg
        for word in words:
            assert set(word) >= {"word", "start", "end", "score"}, word  # every character is in the vocab
            assert isinstance(word["start"], float) and isinstance(word["end"], float)
            assert word["start"] <= word["end"], word
            assert seg["start"] - TOLERANCE_S <= word["start"] and word["end"] <= seg["end"] + TOLERANCE_S, (word, seg)
            assert 0.0 <= word["score"] <= 1.0, word
        for earlier, later in zip(words, words[1:], strict=False):
            assert earlier["start"] <= later["start"] and earlier["end"] <= later["end"], (earlier, later)


def test_float64_audio_is_accepted(offline, audio, align_dir):
    model, metadata = ModelLoader(ModelConfig(align_model=str(align_dir), device="cpu")).aligner("en")
    segment = [{"start": 0.5, "end": 2.5, "text": "Hello there. How are you?"}]
    out = align_words(segment, audio[: 3 * 16_000].astype(np.float64), model, metadata, "cpu")
    assert [s["text"] for s in out] == ["Hello there.", "How are you?"]


def test_aligner_is_loaded_once(offline, align_dir, aligned):
    store = ModelLoader(ModelConfig(align_model=str(align_dir), device="cpu"))
    first = store.aligner("en")
    assert store.aligner("en") is first
    assert ModelLoader(ModelConfig(align_model=str(align_dir), device="cpu")).aligner("en") is first
    model, metadata = first
    assert metadata["type"] == "huggingface" and metadata["language"] == "en"
    assert {"|", "<pad>", "a", "'"} <= set(metadata["dictionary"])


@pytest.mark.parametrize("kind", ["missing", "empty-dir", "not-a-bundle", "uncached-bundle"])
def test_unusable_align_model_names_the_setting(offline, tmp_path, kind):
    name = {
        "missing": str(tmp_path / "no-such-model"),
        "empty-dir": str(tmp_path),
        "not-a-bundle": "TACOTRON2_GRIFFINLIM_CHAR_LJSPEECH",  # in torchaudio.pipelines, not a wav2vec2 CTC model
        "uncached-bundle": "WAV2VEC2_ASR_BASE_960H",  # TORCH_HOME is an empty tmp dir: would download
    }[kind]
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_ALIGN_MODEL"):
        ModelLoader(ModelConfig(align_model=name, device="cpu")).aligner("en")
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_ALIGN_MODEL"):
        load_align_model(name, "en", "cpu", cache_dir=load_settings().models.cache_dir)
    assert files_under(offline["home"] / "torch") == []


def test_punkt_tables_cover_whisperx_languages(offline):
    from whisperx.utils import PUNKT_LANGUAGES

    root = ensure_punkt_tab(load_settings().models.cache_dir)
    assert root == offline["home"] / "vidassets" / "nltk_data"
    for language in {"english", *PUNKT_LANGUAGES.values()}:
        assert (root / "tokenizers" / "punkt_tab" / language / "ortho_context.tab").is_file(), language


def test_nothing_was_downloaded(offline, aligned):
    """Runs after the alignment: no connection was attempted, nltk.download was never called and the (tmp)
    Hugging Face and torch hub caches hold no file."""
    assert offline["attempts"] == []
    assert files_under(offline["home"] / "hf") == []
    assert files_under(offline["home"] / "torch") == []
