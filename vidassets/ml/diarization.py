"""What every diarizer offers (the offline segmentation diarizer, pyannote): a name for provenance, turns and
the speakers' voice embeddings."""

from typing import Protocol

import numpy as np

from vidassets.ml.speech_types import SpeakerTurn, SpeechRegion, VoiceRecord


class Diarizer(Protocol):
    @property
    def name(self) -> str:
        """Model and method, short: recorded in every manifest and row."""

    @property
    def method(self) -> str:
        """`name` with the parameters that shape the output."""

    def diarize(self, audio: np.ndarray, speech_regions: list[SpeechRegion] | None = None) -> list[SpeakerTurn]:
        """Speaker turns of float32 mono 16 kHz `audio`, sorted by start."""

    def diarize_voices(self, audio: np.ndarray) -> tuple[list[SpeakerTurn], list[VoiceRecord]]:
        """The turns, and one voice embedding record per speaker (`ml.voices.voice_records`)."""


def check_speaker_bounds(min_speakers: int | None, max_speakers: int | None) -> None:
    """ValueError for a speaker-count range no diarizer can honour."""
    if min_speakers is not None and min_speakers < 1:
        raise ValueError("min_speakers must be >= 1")
    if max_speakers is not None and max_speakers < 1:
        raise ValueError("max_speakers must be >= 1")
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise ValueError("min_speakers must be <= max_speakers")
