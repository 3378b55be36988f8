"""The speech recipe the assets and the benchmarks share: loaded models and samples in, typed transcripts out."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vidassets.ml.alignment import align_words
from vidassets.ml.diarization import Diarizer
from vidassets.ml.segments import fit_segments_to_turns, resegment, snap_words_to_speech
from vidassets.ml.speaker_assignment import assign_speakers
from vidassets.ml.speech_recognition import SpeechRecognizer
from vidassets.ml.speech_types import Segment, SpeakerTurn, Transcription, Turn, VoiceRecord

# language -> (wav2vec2 model, metadata), as `whisperx.load_align_model` returns; loaded once the language is known
AlignModelLoader = Callable[[str], tuple[Any, dict[str, Any]]]


def transcribe(
    recognizer: SpeechRecognizer,
    samples: np.ndarray,
    *,
    language: str | None,
    batch_size: int,
    load_align_model: AlignModelLoader | None = None,
    device: str = "cpu",
) -> Transcription:
    """VAD + batched Whisper + word times (wav2vec2 when `load_align_model` is given, else Whisper's own), re-cut
    into sentences and at pauses: `{language, language_probability, segments, speech_regions}`. Words Whisper placed
    in silence are moved next to their neighbours first (`snap_words_to_speech`)."""
    result = recognizer.transcribe(
        samples, language=language, batch_size=batch_size, word_timestamps=load_align_model is None
    )
    segments, detected = result["segments"], result["language"]
    if load_align_model is not None and segments and detected:  # speech means a detected language
        model, metadata = load_align_model(detected)
        segments = align_words(segments, samples, model, metadata, device)
    segments = snap_words_to_speech(segments, result.get("speech_regions"))
    result["segments"] = resegment(segments, result["language"])
    return result


def diarize(
    diarizer: Diarizer, samples: np.ndarray, transcript: Transcription
) -> tuple[list[SpeakerTurn], list[Segment]]:
    """Speaker turns, and the transcript's segments with a speaker on every word, cut at speaker changes."""
    turns, segments, _ = diarize_with_voices(diarizer, samples, transcript)
    return turns, segments


def diarize_with_voices(
    diarizer: Diarizer, samples: np.ndarray, transcript: Transcription
) -> tuple[list[SpeakerTurn], list[Segment], list[VoiceRecord]]:
    """`diarize`, plus one voice embedding record per speaker (`ml.voices`)."""
    if not transcript["segments"]:
        return [], [], []
    # The diarizer finds speech itself: sentence-level transcript spans as regions split the speaker-count
    # margin too finely (3 speakers instead of 2 on the sample call with tiny.en segments).
    turns, voices = diarizer.diarize_voices(samples)
    return turns, speaker_segments(turns, transcript), voices


def speaker_segments(turns: Sequence[Turn], transcript: Transcription) -> list[Segment]:
    """The transcript's segments with a speaker on every word, cut at speaker changes (and pauses), their bounds
    fitted to the speaker's diarization turns (at most 0.5 s wider on each side)."""
    labelled = assign_speakers(turns, transcript["segments"])
    return fit_segments_to_turns(resegment(labelled, transcript["language"], by_speaker=True), turns)
