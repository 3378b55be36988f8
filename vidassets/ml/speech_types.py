"""The speech types every speech module and the manifests share, defined once.

`Word` and `Segment` are WhisperX's transcript shape, which `transcript.json` keeps (a public interface);
`vidassets.manifests` builds the transcript manifests from them. `SpeakerTurn` is what every diarizer returns;
`Turn` is what the consumers of turns read (a `SpeakerTurn`, or any object with those three attributes).
"""

from dataclasses import dataclass
from typing import NotRequired, Protocol, TypedDict

SpeechRegion = tuple[float, float]  # (start, end) seconds of detected speech


class Word(TypedDict):
    word: str
    start: NotRequired[float]  # absent when the aligner could not place the word (e.g. numerals)
    end: NotRequired[float]
    score: NotRequired[float | None]
    speaker: NotRequired[str | None]


class Segment(TypedDict):
    start: float | None  # None only when none of its words has a time
    end: float | None
    text: str
    words: list[Word]
    speaker: NotRequired[str | None]


class Transcription(TypedDict):
    """What speech recognition returns: the transcript part of `TranscriptManifest`."""

    language: str | None
    language_probability: float | None
    segments: list[Segment]
    speech_regions: NotRequired[list[list[float]]]  # VAD speech [start, end] in seconds


class TurnRecord(TypedDict):
    """A `SpeakerTurn` as the manifests store it."""

    start: float
    end: float
    speaker: str


class Turn(Protocol):
    """A speaker turn as its readers see it."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def speaker(self) -> str: ...


@dataclass(frozen=True)
class SpeakerTurn:
    """One speaker talking from `start` to `end` (seconds); a diarizer's output, sorted by start."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_record(self) -> TurnRecord:
        return {"start": self.start, "end": self.end, "speaker": self.speaker}


class VoiceRecord(TypedDict):
    """One speaker's voice in one video: what cross-video matching compares (`ml.voices` builds it)."""

    speaker: str  # the diarizer's local label, e.g. SPEAKER_00
    embedding: list[float] | None  # L2-normalised; None when the diarizer gave none for this speaker
    speech_s: float  # seconds the speaker talks with nobody else (turn time outside overlap)
    windows: int | None  # embeddings averaged into `embedding` (None when the diarizer does not say)
    model: str  # the embedding model (comparable only within one model)
    too_short: bool  # under the minimum of clean speech, or no embedding: do not trust for matching
