"""What every diarizer offers (offline window-embedding, pyannote): a name for provenance and speaker turns."""

from typing import Protocol

import numpy as np

from vidassets.ml.diarization_offline import SpeakerTurn


class Diarizer(Protocol):
    @property
    def name(self) -> str:
        """Model and method, short: recorded in every manifest and row."""

    @property
    def method(self) -> str:
        """`name` with the parameters that shape the output."""

    def diarize(
        self, audio: np.ndarray, speech_regions: list[tuple[float, float]] | None = None
    ) -> list[SpeakerTurn]:
        """Speaker turns of float32 mono 16 kHz `audio`, sorted by start."""
