"""Offline diarizer (Resemblyzer window embeddings) on pyannote's real 30 s two-speaker call, and our DER."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vidassets.ml.der import diarization_error_rate, read_rttm
from vidassets.ml.diarization_offline import (
    SAMPLE_RATE,
    SpeakerTurn,
    WindowEmbeddingDiarizer,
    load_encoder,
    to_whisperx_frame,
)

COLLAR = 0.25


@pytest.fixture(scope="module", autouse=True)
def _hf_offline():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def sample_dir() -> Path:
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyannote.audio (which ships the sample call) is not installed")
    return Path(spec.submodule_search_locations[0]) / "sample"


@pytest.fixture(scope="module")
def sample_audio(sample_dir) -> np.ndarray:
    audio, sr = sf.read(sample_dir / "sample.wav", dtype="float32")
    assert sr == SAMPLE_RATE and audio.ndim == 1
    return audio


@pytest.fixture(scope="module")
def reference(sample_dir) -> list[SpeakerTurn]:
    return read_rttm(sample_dir / "sample.rttm")


@pytest.fixture(scope="module")
def diarizer() -> WindowEmbeddingDiarizer:
    return WindowEmbeddingDiarizer()


@pytest.fixture(scope="module")
def sample_run(diarizer, sample_audio):
    return diarizer.run(sample_audio)


def _single_speaker_spans(reference: list[SpeakerTurn]) -> dict[str, tuple[float, float]]:
    """Longest span per speaker during which the reference has that speaker and nobody else."""
    edges = sorted({t.start for t in reference} | {t.end for t in reference})
    best: dict[str, tuple[float, float]] = {}
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        mid = (a + b) / 2
        active = {t.speaker for t in reference if t.start <= mid < t.end}
        if len(active) != 1:
            continue
        (speaker,) = active
        # extend spans of the same speaker that touch
        prev = best.get(speaker)
        if prev is not None and abs(prev[1] - a) < 1e-9:
            best[speaker] = (prev[0], b)
        elif prev is None or b - a > prev[1] - prev[0]:
            best[speaker] = (a, b)
    return best


# --------------------------------------------------------------------------- diarizer on real speech


def test_sample_call_der_with_automatic_speaker_count(sample_run, reference):
    turns = sample_run.turns
    result = diarization_error_rate(reference, turns, collar=COLLAR)
    assert result["n_reference_speakers"] == 2
    assert sample_run.n_speakers == 2, turns
    assert result["der"] <= 0.15, result
    # turns: sorted, non-overlapping, positive, labels SPEAKER_00.. by first appearance
    assert turns == sorted(turns, key=lambda t: t.start)
    assert all(t.end > t.start for t in turns)
    assert all(a.end <= b.start for a, b in zip(turns, turns[1:], strict=False))
    first_seen = list(dict.fromkeys(t.speaker for t in turns))
    assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))]
    assert turns[0].start >= 0 and turns[-1].end <= 30.0 + 1e-6


def test_caller_speech_regions_replace_the_vad(diarizer, sample_audio, sample_dir, reference):
    # transcript-like segments (the sample's STM utterances), as the caller would pass WhisperX segments
    segments = []
    for line in (sample_dir / "sample.stm").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5:
            segments.append((float(fields[3]), float(fields[4])))
    turns = diarizer.diarize(sample_audio, speech_regions=segments)
    speech_start, speech_end = min(a for a, _ in segments), max(b for _, b in segments)
    assert turns[0].start >= speech_start - 1e-6 and turns[-1].end <= speech_end + 1e-6
    assert len({t.speaker for t in turns}) == 2
    assert diarization_error_rate(reference, turns, collar=COLLAR)["der"] <= 0.15


def test_max_speakers_one_gives_one_label(sample_audio):
    turns = WindowEmbeddingDiarizer(max_speakers=1).diarize(sample_audio)
    assert turns and {t.speaker for t in turns} == {"SPEAKER_00"}


def test_min_speakers_is_respected(sample_run):
    # the clustering step alone, on the sample's window embeddings: automatic count is 2, min forces 3
    assert len(np.unique(sample_run.labels)) == 2
    embeddings = sample_run.embeddings
    assert len(np.unique(WindowEmbeddingDiarizer(min_speakers=3).cluster(embeddings))) == 3
    assert len(np.unique(WindowEmbeddingDiarizer(min_speakers=2, max_speakers=2).cluster(embeddings))) == 2


def test_single_speaker_excerpt_is_one_speaker(diarizer, sample_audio, reference):
    spans = _single_speaker_spans(reference)
    assert len(spans) == 2
    for speaker, (start, end) in spans.items():
        assert end - start >= 3.0, (speaker, start, end)
        excerpt = sample_audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        turns = diarizer.diarize(excerpt)
        assert turns, speaker
        assert {t.speaker for t in turns} == {"SPEAKER_00"}, (speaker, start, end, turns)


def test_silence_and_empty_audio_give_no_turns(diarizer):
    assert diarizer.diarize(np.zeros(5 * SAMPLE_RATE, dtype=np.float32)) == []
    assert diarizer.diarize(np.zeros(0, dtype=np.float32)) == []
    assert diarizer.diarize(np.zeros(SAMPLE_RATE, dtype=np.float32), speech_regions=[]) == []
    with pytest.raises(ValueError, match="mono"):
        diarizer.diarize(np.zeros((2, SAMPLE_RATE), dtype=np.float32))


def test_encoder_is_loaded_once_and_method_is_recorded(diarizer):
    assert WindowEmbeddingDiarizer(max_speakers=3).encoder is diarizer.encoder is load_encoder("cpu")
    assert diarizer.name == "resemblyzer-window-embeddings+pruned-spectral+significance-count"
    assert diarizer.method.startswith(diarizer.name + "(resemblyzer=0.1.4")
    with pytest.raises(ValueError):
        WindowEmbeddingDiarizer(min_speakers=3, max_speakers=2)


def test_whisperx_assign_word_speakers_accepts_the_frame():
    # importing whisperx.diarize pulls in pyannote.audio (slow); HF_HUB_OFFLINE is set, nothing is fetched
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    diarize = pytest.importorskip("whisperx.diarize")
    turns = [SpeakerTurn(0.0, 2.0, "SPEAKER_00"), SpeakerTurn(2.3, 4.0, "SPEAKER_01")]
    frame = to_whisperx_frame(turns)
    assert list(frame.columns) == ["start", "end", "speaker"]
    transcript = {
        "segments": [
            {
                "start": 0.1,
                "end": 3.9,
                "text": "hello there yes",
                "words": [
                    {"word": "hello", "start": 0.1, "end": 0.6},
                    {"word": "there", "start": 1.0, "end": 1.8},
                    {"word": "yes", "start": 2.5, "end": 3.0},
                    {"word": "5"},  # WhisperX leaves numerals it could not align without timestamps
                ],
            }
        ]
    }
    result = diarize.assign_word_speakers(frame, transcript)
    words = result["segments"][0]["words"]
    assert [w.get("speaker") for w in words] == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01", None]
    assert result["segments"][0]["speaker"] == "SPEAKER_00"
    empty = to_whisperx_frame([])
    assert list(empty.columns) == ["start", "end", "speaker"] and len(empty) == 0


# --------------------------------------------------------------------------- DER


def _turns(*rows: tuple[float, float, str]) -> list[SpeakerTurn]:
    return [SpeakerTurn(a, b, s) for a, b, s in rows]


REF = _turns((0.0, 4.0, "A"), (4.0, 7.0, "B"), (7.5, 10.0, "A"))


def test_der_perfect_and_swapped_labels_are_zero():
    assert diarization_error_rate(REF, REF)["der"] == 0.0
    swapped = [SpeakerTurn(t.start, t.end, {"A": "s2", "B": "s1"}[t.speaker]) for t in REF]
    result = diarization_error_rate(REF, swapped, collar=0.0)
    assert result["der"] == 0.0 and result["mapping"] == {"s2": "A", "s1": "B"}


def test_der_all_missed_is_one_and_components_add_up():
    result = diarization_error_rate(REF, [], collar=0.0)
    assert result["der"] == pytest.approx(1.0)
    assert result["missed"] == pytest.approx(9.5, abs=0.02)
    # one speaker for everything: B's 3 s are confusion; 1 s of hypothesis in the 7-7.5 gap... none here
    one = diarization_error_rate(REF, _turns((0.0, 10.0, "x")), collar=0.0)
    assert one["confusion"] == pytest.approx(3.0, abs=0.02)
    assert one["false_alarm"] == pytest.approx(0.5, abs=0.02)
    assert one["der"] == pytest.approx(3.5 / 9.5, abs=0.005)
    assert one["der"] == pytest.approx(one["missed_rate"] + one["false_alarm_rate"] + one["confusion_rate"])


def test_der_collar_ignores_boundary_errors():
    late = _turns((0.2, 4.2, "a"), (4.2, 7.0, "b"), (7.5, 10.0, "a"))
    assert diarization_error_rate(REF, late, collar=0.0)["der"] > 0.03
    assert diarization_error_rate(REF, late, collar=0.25)["der"] == 0.0


def test_der_skip_overlap_and_empty_reference():
    ref = _turns((0.0, 4.0, "A"), (3.0, 6.0, "B"))
    hyp = _turns((0.0, 3.5, "1"), (3.5, 6.0, "2"))
    assert diarization_error_rate(ref, hyp, collar=0.0, skip_overlap=True)["der"] == 0.0
    assert diarization_error_rate(ref, hyp, collar=0.0)["missed"] == pytest.approx(1.0, abs=0.02)
    assert diarization_error_rate([], [])["der"] == 0.0
    assert diarization_error_rate([], _turns((0.0, 1.0, "x")))["der"] == float("inf")


def test_read_rttm(reference):
    assert len(reference) == 10
    assert {t.speaker for t in reference} == {"speaker90", "speaker91"}
    assert reference[0] == SpeakerTurn(6.69, pytest.approx(7.12), "speaker90")


@pytest.mark.filterwarnings("ignore:'uem' was approximated")
def test_der_matches_pyannote_metrics(sample_run, reference):
    diarization = pytest.importorskip("pyannote.metrics.diarization")
    from pyannote.core import Annotation, Segment

    def annotation(turns):
        ann = Annotation()
        for i, t in enumerate(turns):
            ann[Segment(t.start, t.end), i] = t.speaker
        return ann

    overlap_ref = _turns((0.0, 4.0, "A"), (3.0, 6.0, "B"), (6.5, 9.0, "A"))
    overlap_hyp = _turns((0.1, 3.4, "1"), (3.4, 6.2, "2"), (6.2, 9.5, "1"), (9.6, 10.0, "3"))
    cases = [(reference, sample_run.turns), (overlap_ref, overlap_hyp)]
    for ref, hyp in cases:
        for collar in (0.0, 0.25):
            for skip_overlap in (False, True):
                # pyannote's collar is the full width: ours (±0.25 s, md-eval style) is its 0.5
                metric = diarization.DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
                expected = metric(annotation(ref), annotation(hyp), detailed=True)
                ours = diarization_error_rate(ref, hyp, collar=collar, skip_overlap=skip_overlap)
                assert ours["total"] == pytest.approx(expected["total"], abs=0.03)
                assert ours["missed"] == pytest.approx(expected["missed detection"], abs=0.03)
                assert ours["false_alarm"] == pytest.approx(expected["false alarm"], abs=0.03)
                assert ours["confusion"] == pytest.approx(expected["confusion"], abs=0.03)
                assert ours["der"] == pytest.approx(expected["diarization error rate"], abs=0.005)
