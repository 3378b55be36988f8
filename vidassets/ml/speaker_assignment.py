"""Speaker labels for words and segments from diarization turns.

The same rule as `whisperx.assign_word_speakers(..., fill_nearest=True)` (the speaker with the largest overlap,
else the turn whose midpoint is nearest), without importing whisperx: `whisperx.diarize` imports pyannote at
module level, ~10 s on a 2-core machine, which the offline path never needs. A test checks both agree.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vidassets.ml.speech_types import Segment, Turn, Word

if TYPE_CHECKING:
    import pandas as pd


class TurnIndex:
    def __init__(self, turns: Sequence[Turn]):
        ordered = sorted(turns, key=lambda t: t.start)
        self.starts = np.array([t.start for t in ordered], dtype=np.float64)
        self.ends = np.array([t.end for t in ordered], dtype=np.float64)
        self.mids = (self.starts + self.ends) / 2
        self.speakers = [t.speaker for t in ordered]

    def speaker_for(self, start: float, end: float) -> str | None:
        if not self.speakers:
            return None
        candidates = int(np.searchsorted(self.starts, end, side="left"))
        overlap = np.minimum(self.ends[:candidates], end) - np.maximum(self.starts[:candidates], start)
        totals: dict[str, float] = {}
        for idx in np.flatnonzero(overlap > 0):
            totals[self.speakers[idx]] = totals.get(self.speakers[idx], 0.0) + float(overlap[idx])
        if totals:
            return max(totals.items(), key=lambda item: item[1])[0]
        return self.speakers[int(np.argmin(np.abs(self.mids - (start + end) / 2)))]


def assign_speakers(turns: Sequence[Turn], segments: list[Segment]) -> list[Segment]:
    """Copies of `segments` with `speaker` on each segment and on each timed word."""
    index = TurnIndex(turns)
    out = []
    for segment in segments:
        words: list[Word] = [Word(**w) for w in segment.get("words", [])]
        labelled: Segment = {**segment, "words": words}
        speaker = index.speaker_for(segment.get("start") or 0.0, segment.get("end") or 0.0)
        if speaker is not None:
            labelled["speaker"] = speaker
        for word in words:
            if "start" in word:
                word_speaker = index.speaker_for(word["start"], word.get("end", word["start"]))
                if word_speaker is not None:
                    word["speaker"] = word_speaker
        out.append(labelled)
    return out


def to_whisperx_frame(turns: Sequence[Turn]) -> "pd.DataFrame":
    """Turns as the DataFrame ``whisperx.assign_word_speakers(diarize_df, result)`` reads (the rule above is
    checked against it). whisperx 3.8.6 only reads the ``start``, ``end`` and ``speaker`` columns."""
    import pandas as pd

    return pd.DataFrame(
        {
            "start": [float(t.start) for t in turns],
            "end": [float(t.end) for t in turns],
            "speaker": [t.speaker for t in turns],
        },
        columns=["start", "end", "speaker"],
    )
