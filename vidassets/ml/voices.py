"""Voice embeddings per speaker per video, from whatever the diarizer in use embeds (Dagster-free).

A voice is the L2-normalised mean of a speaker's clean-speech embeddings (offline diarizer: its Resemblyzer
(chunk, local speaker) d-vectors; pyannote: the pipeline's speaker centroids), with the seconds of speech it rests
on. Under `MIN_VOICE_SPEECH_S` of speech with nobody else talking the record says `too_short`: a d-vector of a few
words is too noisy to match across videos. That flag is the conservative default; the speaker registry trusts a
voice from its model's calibrated minimum of `speech_s` (`speaker_registry.MIN_TRUSTED_SPEECH_S`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vidassets.ml.speech_types import Turn, VoiceRecord

MIN_VOICE_SPEECH_S = 10.0
GRID_S = 0.01  # 10 ms frames for the overlap bookkeeping


def solo_speech_seconds(turns: Sequence[Turn]) -> dict[str, float]:
    """Seconds each speaker talks while no other speaker's turn is active."""
    speakers = sorted({t.speaker for t in turns})
    if not speakers:
        return {}
    n = int(np.ceil(max(t.end for t in turns) / GRID_S)) + 1
    active = np.zeros((len(speakers), n), dtype=bool)
    index = {s: i for i, s in enumerate(speakers)}
    for t in turns:
        active[index[t.speaker], int(round(t.start / GRID_S)): int(round(t.end / GRID_S))] = True
    alone = active & (active.sum(axis=0) == 1)
    return {s: round(float(alone[i].sum()) * GRID_S, 3) for s, i in index.items()}


def solo_samples(audio: np.ndarray, turns: Sequence[Turn], sample_rate: int) -> dict[str, np.ndarray]:
    """Each speaker's samples while no other speaker's turn is active, concatenated in time order."""
    speakers = sorted({t.speaker for t in turns})
    if not speakers:
        return {}
    n = int(np.ceil(max(t.end for t in turns) / GRID_S)) + 1
    active = np.zeros((len(speakers), n), dtype=bool)
    for t in turns:
        active[speakers.index(t.speaker), int(round(t.start / GRID_S)): int(round(t.end / GRID_S))] = True
    alone = active & (active.sum(axis=0) == 1)
    hop = int(round(GRID_S * sample_rate))
    out = {}
    for i, speaker in enumerate(speakers):
        frames = np.flatnonzero(alone[i])
        pieces = [audio[f * hop: (f + 1) * hop] for f in frames]
        out[speaker] = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    return out


def pooled_vectors(encoder: Any, audio: np.ndarray, turns: Sequence[Turn], sample_rate: int,
                   min_s: float = 1.0) -> dict[str, tuple[np.ndarray, int | None]]:
    """One Resemblyzer utterance embedding over all of each speaker's solo speech (`embed_utterance`: the mean
    of its 1.6 s partials), for `voice_records`; speakers with under `min_s` alone get none."""
    vectors: dict[str, tuple[np.ndarray, int | None]] = {}
    for speaker, samples in solo_samples(audio, turns, sample_rate).items():
        if len(samples) >= min_s * sample_rate:
            vectors[speaker] = (np.asarray(encoder.embed_utterance(samples), dtype=np.float64), None)
    return vectors


def voice_records(
    vectors: Mapping[str, tuple[np.ndarray, int | None]], turns: Sequence[Turn], model: str,
    min_speech_s: float = MIN_VOICE_SPEECH_S,
) -> list[VoiceRecord]:
    """One record per speaker of `turns` (sorted by label): `vectors[speaker]` = (embedding sum or mean,
    windows) normalised to unit length; a speaker without a vector gets `embedding=None` and `too_short`."""
    solo = solo_speech_seconds(turns)
    records: list[VoiceRecord] = []
    for speaker in sorted(solo):
        embedding: list[float] | None = None
        windows: int | None = None
        if speaker in vectors:
            vector, windows = vectors[speaker]
            vector = np.asarray(vector, dtype=np.float64)
            norm = float(np.linalg.norm(vector))
            if np.isfinite(norm) and norm > 0:
                embedding = [round(float(x), 6) for x in vector / norm]
        records.append({
            "speaker": speaker, "embedding": embedding, "speech_s": solo[speaker], "windows": windows,
            "model": model, "too_short": embedding is None or solo[speaker] < min_speech_s,
        })
    return records
