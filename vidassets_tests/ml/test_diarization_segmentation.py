"""Segmentation-based offline diarizer on real speech: pyannote's sample call and mixes built from it."""

import numpy as np
import pytest
import soundfile as sf

from vidassets import samples
from vidassets.ml.der import diarization_error_rate, read_rttm
from vidassets.ml.diarization_segmentation import (
    SAMPLE_RATE,
    SegmentationDiarizer,
    constrained_agglomerative,
    constrained_assignment,
)
from vidassets.ml.offline_diarizers import DEFAULT_METHOD, METHODS, build_offline_diarizer, offline_diarizer_name
from vidassets.ml.speaker_embeddings import load_encoder

COLLAR = 0.25


@pytest.fixture(scope="module")
def sample_audio() -> np.ndarray:
    audio, sr = sf.read(samples.speech_wav(), dtype="float32")
    assert sr == SAMPLE_RATE and audio.ndim == 1
    return audio


@pytest.fixture(scope="module")
def reference():
    return read_rttm(samples.speech_rttm())


@pytest.fixture(scope="module")
def diarizer() -> SegmentationDiarizer:
    return SegmentationDiarizer()


@pytest.fixture(scope="module")
def sample_run(diarizer, sample_audio):
    return diarizer.run(sample_audio)


def test_sample_call_two_speakers_and_low_der(sample_run, reference):
    assert sample_run.n_speakers == 2, sample_run.turns
    result = diarization_error_rate(reference, sample_run.turns, collar=COLLAR)
    assert result["der"] <= 0.10, result
    turns = sample_run.turns
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    assert all(t.end > t.start for t in turns) and turns[-1].end <= 30.0 + 1e-6
    # speech regions come from the segmentation model: nothing before the first words at 6.7 s
    assert sample_run.speech_regions[0][0] >= 6.0
    assert {t.speaker for t in turns} == {"SPEAKER_00", "SPEAKER_01"}


def test_cannot_link_two_local_speakers_of_one_chunk(sample_run):
    clusters = sample_run.local_clusters
    active = sample_run.local_activity.any(axis=1)
    both = 0
    for c in range(len(clusters)):
        assigned = clusters[c][clusters[c] >= 0]
        assert len(set(assigned.tolist())) == len(assigned), (c, clusters[c])
        assert np.all(clusters[c][~active[c]] == -2)
        both += len(assigned) >= 2
    assert both >= 3  # the call has chunks with both voices: the constraint was exercised

    # clustering alone, real embeddings of ONE speaker: with no distance limit they all merge, unless two of
    # them belong to one chunk
    embeddings = sample_run.embeddings
    first = np.argwhere(clusters == 0)
    vectors = np.stack([embeddings[c, s] for c, s in first[:6]]).astype(np.float64)
    free = constrained_agglomerative(vectors, np.arange(6), threshold=2.0)
    assert len(set(free.tolist())) == 1
    groups = np.array([0, 1, 2, 3, 4, 0])  # items 0 and 5 said to come from one chunk
    linked = constrained_agglomerative(vectors, groups, threshold=2.0)
    assert linked[0] != linked[5] and len(set(linked.tolist())) == 2

    # the per-chunk assignment never gives one cluster to two local speakers, even if both prefer it
    scores = np.array([[[0.9, 0.1], [0.8, 0.2], [0.0, 0.0]]])
    assert constrained_assignment(scores, np.array([[-1, -1, -2]])).tolist() == [[0, 1, -2]]


def test_overlap_regions_reported_on_a_two_voice_mix(diarizer, sample_audio, reference):
    # one long solo stretch of each speaker, played together from 2 s on: overlapped speech by construction
    diane = sample_audio[int(10.9 * SAMPLE_RATE): int(14.2 * SAMPLE_RATE)]
    sheila = sample_audio[int(22.0 * SAMPLE_RATE): int(28.3 * SAMPLE_RATE)]
    mix = np.zeros(int(9 * SAMPLE_RATE), dtype=np.float32)
    mix[: len(sheila)] += sheila
    mix[2 * SAMPLE_RATE: 2 * SAMPLE_RATE + len(diane)] += diane
    run = diarizer.run(mix)
    overlap = sum(min(b, 5.2) - max(a, 2.0) for a, b in run.overlap_regions if b > 2.0 and a < 5.2)
    assert overlap >= 1.0, run.overlap_regions
    assert run.n_speakers == 2, run.turns
    # overlapped speech has one turn per speaker: turns of two speakers intersect there
    spans = {s: [(t.start, t.end) for t in run.turns if t.speaker == s] for s in {t.speaker for t in run.turns}}
    a, b = spans.values()
    assert any(min(x1, y1) - max(x0, y0) > 0.5 for x0, x1 in a for y0, y1 in b)


def test_speaker_bounds_silence_and_bad_input(sample_run, sample_audio):
    turns = SegmentationDiarizer(max_speakers=1).diarize(sample_audio)
    assert turns and {t.speaker for t in turns} == {"SPEAKER_00"}
    assert len({t.speaker for t in SegmentationDiarizer(min_speakers=3).diarize(sample_audio)}) >= 2
    d = SegmentationDiarizer()
    assert d.diarize(np.zeros(4 * SAMPLE_RATE, dtype=np.float32)) == []
    assert d.diarize(np.zeros(0, dtype=np.float32)) == []
    with pytest.raises(ValueError, match="mono"):
        d.diarize(np.zeros((2, SAMPLE_RATE), dtype=np.float32))
    with pytest.raises(ValueError):
        SegmentationDiarizer(min_speakers=3, max_speakers=2)


def test_one_offline_method_loaded_once_and_named(diarizer):
    assert DEFAULT_METHOD == "segmentation" and METHODS == ("segmentation",)
    built = build_offline_diarizer("segmentation")
    assert built.model is diarizer.model and built.encoder is diarizer.encoder  # loaded once per process
    assert diarizer.encoder is load_encoder("cpu")
    assert diarizer.method.startswith(diarizer.name + "(segmentation=whisperx==")
    assert offline_diarizer_name() == diarizer.name


@pytest.mark.parametrize("method", ["window", "kmeans"])
def test_a_retired_or_unknown_method_names_the_setting_and_the_choices(method):
    for build in (build_offline_diarizer, offline_diarizer_name):
        with pytest.raises(ValueError, match=rf"VIDASSETS_DIARIZER='{method}'.*valid choices: segmentation$"):
            build(method)
    with pytest.raises(ValueError, match="retired"):
        build_offline_diarizer("window")


def _reference_speaker(turns, speaker, reference, offset):
    """The reference speaker a hypothesis label overlaps most (turns shifted by `offset` seconds)."""
    overlap: dict[str, float] = {}
    for t in turns:
        if t.speaker == speaker:
            for r in reference:
                seconds = min(t.end + offset, r.end) - max(t.start + offset, r.start)
                if seconds > 0:
                    overlap[r.speaker] = overlap.get(r.speaker, 0.0) + seconds
    return max(overlap, key=overlap.get)


def test_one_voice_per_speaker_and_the_same_voice_closer_across_halves_than_another(diarizer, sample_audio,
                                                                                     reference):
    turns, voices = diarizer.diarize_voices(sample_audio)
    assert [v["speaker"] for v in voices] == sorted({t.speaker for t in turns}) == ["SPEAKER_00", "SPEAKER_01"]
    for voice in voices:
        talk = sum(t.end - t.start for t in turns if t.speaker == voice["speaker"])
        assert 0 < voice["speech_s"] <= talk + 1e-6
        assert voice["model"] == "resemblyzer" and voice["windows"] >= 1
        assert len(voice["embedding"]) == 256 and abs(np.linalg.norm(voice["embedding"]) - 1) < 1e-4
        assert voice["too_short"] == (voice["speech_s"] < 10.0)
    # the call cut at 18 s: both people talk in both halves; each half is diarized on its own
    cut = 18.0
    by_half = []
    for start, end in ((0.0, cut), (cut, 30.0)):
        half = sample_audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)]
        half_turns, half_voices = diarizer.diarize_voices(half)
        main = [v for v in half_voices if v["speech_s"] >= 2.0]  # a 0.5 s extra label is no voice to compare
        by_half.append({_reference_speaker(half_turns, v["speaker"], reference, start): np.array(v["embedding"])
                        for v in main})
    first, second = by_half
    assert set(first) == set(second) == {"speaker90", "speaker91"}
    for person, other in (("speaker90", "speaker91"), ("speaker91", "speaker90")):
        same = float(first[person] @ second[person])
        across = float(first[person] @ second[other])
        assert same > across + 0.05, (person, same, across)


def test_no_voices_for_silence(diarizer):
    assert diarizer.diarize_voices(np.zeros(4 * SAMPLE_RATE, dtype=np.float32)) == ([], [])
