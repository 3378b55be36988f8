"""`SpeechRecognizer` on real speech with tiny.en: one Silero pass gives what faster-whisper's own VAD pass gives."""

import numpy as np
import pytest
import soundfile as sf

from vidassets import samples
from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.speech_recognition import SpeechRecognizer, silero_chunks
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader

SILENCE_S = 4.0


@pytest.fixture(scope="module")
def recognizer() -> SpeechRecognizer:
    recognizer = ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu", vad_method="silero")).recognizer()
    assert recognizer.spec.vad_method == "silero"
    return recognizer


@pytest.fixture(scope="module")
def call_twice() -> np.ndarray:
    """The two-speaker call, a pause, the call again: over 60 s, so several chunks and a silence to cut out."""
    call, rate = sf.read(samples.speech_wav(), dtype="float32")
    assert rate == SAMPLE_RATE
    return np.concatenate([call, np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32), call])


def _upstream(recognizer: SpeechRecognizer, audio: np.ndarray) -> list[tuple]:
    """faster-whisper's own path: `vad_filter=True`, its Silero pass inside."""
    segments, _ = recognizer.pipeline.transcribe(audio, batch_size=8, beam_size=5, word_timestamps=True,
                                                 vad_filter=True, language="en")
    return [(round(s.start, 3), round(s.end, 3), s.text.strip(),
             [(w.word.strip(), round(w.start, 3), round(w.end, 3)) for w in s.words if w.word.strip()])
            for s in segments if s.text.strip()]


def _ours(recognizer: SpeechRecognizer, audio: np.ndarray) -> list[tuple]:
    result = recognizer.transcribe(audio, language=None, batch_size=8, word_timestamps=True)
    return [(s["start"], s["end"], s["text"], [(w["word"], w["start"], w["end"]) for w in s["words"]])
            for s in result["segments"]]


def test_one_silero_pass_gives_the_segments_and_words_of_faster_whispers_own_vad(recognizer, call_twice):
    chunks = silero_chunks(call_twice)
    assert len(chunks.clips) >= 2 and all(c["end"] - c["start"] <= 30 for c in chunks.clips)
    assert chunks.audio.size < call_twice.size - SILENCE_S * SAMPLE_RATE  # silence is not decoded
    ours = _ours(recognizer, call_twice)
    words = [w for s in ours for w in s[3]]
    assert len(words) >= 100
    assert ours == _upstream(recognizer, call_twice)
    # the second copy of the call is found at its own time, after the pause
    assert sum(w[1] >= call_twice.size / 2 / SAMPLE_RATE for w in words) >= 50


def test_silence_gives_no_segments_and_no_regions(recognizer):
    result = recognizer.transcribe(np.zeros(3 * SAMPLE_RATE, np.float32), language=None, batch_size=8,
                                   word_timestamps=True)
    assert result["segments"] == [] and result["speech_regions"] == []
