"""The speech recipe the assets, the CLI and the benchmarks share: samples in, transcript dicts out."""

from typing import Any

import numpy as np

from vidassets.ml.alignment import align_words
from vidassets.ml.segments import fit_segments_to_turns, resegment, snap_words_to_speech
from vidassets.ml.speaker_assignment import assign_speakers
from vidassets.resources.models import ModelStore


def aligner_name(models: ModelStore) -> str:
    return f"wav2vec2:{models.align_model}" if models.align_model else "faster-whisper-cross-attention"


def transcribe(models: ModelStore, samples: np.ndarray) -> dict[str, Any]:
    """VAD + batched Whisper + word times, re-cut into sentences and at pauses:
    `{language, language_probability, segments, speech_regions}`. Words Whisper placed in silence are moved next
    to their neighbours first (`snap_words_to_speech`)."""
    recognizer = models.recognizer()
    result = recognizer.transcribe(
        samples, language=models.language, batch_size=models.batch_size, word_timestamps=not models.align_model
    )
    if models.align_model and result["segments"]:
        align_model, metadata = models.aligner(result["language"])
        segments = align_words(result["segments"], samples, align_model, metadata, models.resolved_device())
    else:
        segments = result["segments"]
    segments = snap_words_to_speech(segments, result.get("speech_regions"))
    result["segments"] = resegment(segments, result["language"])
    return result


def diarize(models: ModelStore, samples: np.ndarray, transcript: dict[str, Any]) -> tuple[list[Any], list[dict]]:
    """Speaker turns, and the transcript's segments with a speaker on every word, cut at speaker changes."""
    if not transcript["segments"]:
        return [], []
    return diarize_with(models.diarizer(), samples, transcript)


def diarize_with(diarizer: Any, samples: np.ndarray, transcript: dict[str, Any]) -> tuple[list[Any], list[dict]]:
    """`diarize` with a given diarizer (anything with `.diarize(samples) -> turns`), e.g. to compare methods."""
    if not transcript["segments"]:
        return [], []
    # The diarizer finds speech itself: sentence-level transcript spans as regions split the speaker-count
    # margin too finely (3 speakers instead of 2 on the sample call with tiny.en segments).
    turns = diarizer.diarize(samples)
    return turns, speaker_segments(turns, transcript)


def speaker_segments(turns: list[Any], transcript: dict[str, Any]) -> list[dict]:
    """The transcript's segments with a speaker on every word, cut at speaker changes (and pauses), their bounds
    fitted to the speaker's diarization turns (at most 0.5 s wider on each side)."""
    labelled = assign_speakers(turns, transcript["segments"])
    return fit_segments_to_turns(resegment(labelled, transcript["language"], by_speaker=True), turns)
