"""Segments and subtitle cues end at pauses, word times are checked against the VAD, and the sample call's
transcript quality does not regress — tiny.en Whisper and the default offline diarizer on real speech."""

import numpy as np
import pytest
import soundfile as sf

from vidassets import samples
from vidassets.analytics.subtitles import build_cues
from vidassets.ml.der import diarization_error_rate, read_rttm
from vidassets.ml.segments import MAX_PAUSE_S, resegment, snap_words_to_speech
from vidassets.ml.speech_types import SpeakerTurn
from vidassets.ml.transcript_quality import normalize, phrase_start_errors, read_stm, word_error_rate
from vidassets.ml.transcription import diarize
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader

SR = 16_000
GAP_START, GAP_S = 25.5, 6.0  # inside "they all call me a Yankee | down here, so what can I say?"


@pytest.fixture(scope="module")
def models() -> ModelLoader:
    return ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu"))


@pytest.fixture(scope="module")
def sample_audio() -> np.ndarray:
    audio, sr = sf.read(samples.speech_wav(), dtype="float32")
    assert sr == SR
    return audio


@pytest.fixture(scope="module")
def sample_transcript(models, sample_audio):
    return models.transcribe(sample_audio)


def _pauses(words):
    timed = [w for w in words if "start" in w and "end" in w]
    return [b["start"] - a["end"] for a, b in zip(timed, timed[1:], strict=False)]


def test_long_silence_splits_segments_and_cues(models, sample_audio):
    cut = int(GAP_START * SR)
    audio = np.concatenate([sample_audio[:cut], np.zeros(int(GAP_S * SR), np.float32), sample_audio[cut:]])
    gap = (GAP_START + 0.3, GAP_START + GAP_S - 0.3)
    transcript = models.transcribe(audio)
    words = [w for s in transcript["segments"] for w in s["words"]]
    assert any(w["start"] < gap[0] for w in words) and any(w["start"] > gap[1] for w in words)
    assert transcript["speech_regions"] and not any(a < gap[0] + 1 and b > gap[1] - 1
                                                    for a, b in transcript["speech_regions"])
    _, diarized = diarize(models.diarizer(), audio, transcript)
    for segments in (transcript["segments"], diarized):
        for segment in segments:
            assert not (segment["start"] < gap[0] and segment["end"] > gap[1]), segment
            assert max(_pauses(segment["words"]), default=0.0) <= MAX_PAUSE_S, segment
        for cue in build_cues({"language": "en", "segments": segments}):
            assert not (cue.start < gap[0] and cue.end > gap[1]), cue
            assert cue.end - cue.start <= 7.0 + 1e-6 and len(cue.lines) <= 2
            assert all(len(line) <= 42 for line in cue.lines), cue


def test_word_misplaced_into_silence_does_not_drag_the_segment(sample_transcript):
    # the call is silent before 6.7 s: put the first word of a later segment there, as Whisper sometimes does
    segments = [dict(s, words=[dict(w) for w in s["words"]]) for s in sample_transcript["segments"]]
    victim = next(s for s in segments if len(s["words"]) >= 3 and s["start"] > 10)
    neighbour_start = victim["words"][1]["start"]
    victim["words"][0].update(start=2.0, end=2.4)
    unchecked = resegment(segments, "en")
    assert min(s["start"] for s in unchecked) == 2.0  # a one-word segment in the silence
    checked = resegment(snap_words_to_speech(segments, sample_transcript["speech_regions"]), "en")
    assert min(s["start"] for s in checked) >= 6.0
    moved = next(w for s in checked for w in s["words"] if w["end"] == neighbour_start)
    assert moved["word"] == victim["words"][0]["word"] and moved["end"] - moved["start"] == pytest.approx(0.4)
    assert snap_words_to_speech(segments, None) == segments


def test_sample_call_quality_does_not_regress(models, sample_audio, sample_transcript):
    reference = read_stm(samples.speech_stm())
    hypothesis = [w for s in sample_transcript["segments"] for w in normalize(s["text"])]
    wer = word_error_rate([w for p in reference for w in normalize(p.text)], hypothesis)
    assert wer <= 0.19, wer  # tiny.en before pause splitting: 18.5%
    errors = phrase_start_errors(reference, sample_transcript["segments"])
    assert len(errors) >= 10 and sum(errors) / len(errors) <= 0.2 and max(errors) <= 0.6, errors
    turns, segments = diarize(models.diarizer(), sample_audio, sample_transcript)
    result = diarization_error_rate(read_rttm(samples.speech_rttm()), turns, collar=0.25)
    assert result["der"] <= 0.10 and result["n_hypothesis_speakers"] == 2, result
    assert {s["speaker"] for s in segments} == {t.speaker for t in turns}
    # segment bounds: fitted to the speaker's turns, at most 0.5 s beyond the words, never into a neighbour
    widened = 0
    for i, segment in enumerate(segments):
        first, last = segment["words"][0]["start"], segment["words"][-1]["end"]
        assert first - 0.5 - 1e-6 <= segment["start"] <= first and last <= segment["end"] <= last + 0.5 + 1e-6
        if i:
            assert segment["start"] >= min(segments[i - 1]["end"], first) - 1e-6
        widened += segment["start"] < first or segment["end"] > last
    assert widened >= 3
    segment_turns = [SpeakerTurn(s["start"], s["end"], s["speaker"]) for s in segments]
    assert diarization_error_rate(read_rttm(samples.speech_rttm()), segment_turns)["der"] <= 0.15


def test_pyannote_vad_gives_chunks_and_speech_regions(sample_audio):
    recognizer = ModelLoader(ModelConfig(whisper_model="tiny.en", device="cpu", vad_method="pyannote")).recognizer()
    chunks, regions = recognizer.speech_chunks(sample_audio)
    assert chunks and all(c["end"] - c["start"] <= 30.0 for c in chunks)
    assert regions[0][0] >= 6.0 and all(b > a for a, b in regions)  # the call's first words are at 6.7 s
    assert recognizer.speech_chunks(np.zeros(3 * SR, np.float32)) == ([], [])
