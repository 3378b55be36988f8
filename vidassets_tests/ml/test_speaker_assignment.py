"""Our speaker assignment must label exactly as `whisperx.assign_word_speakers(fill_nearest=True)` does."""

import copy

import pytest
import whisperx

from vidassets import samples
from vidassets.ml.der import read_rttm
from vidassets.ml.speaker_assignment import assign_speakers, to_whisperx_frame
from vidassets.ml.speech_types import SpeakerTurn
from vidassets.ml.transcript_quality import read_stm


def _words_from_reference() -> list[dict]:
    """The reference phrases as segments, with evenly spread word times (real text, real turn boundaries)."""
    segments = []
    for phrase in read_stm(samples.speech_stm()):
        tokens = phrase.text.split()
        step = (phrase.end - phrase.start) / len(tokens)
        words = [{"word": t, "start": phrase.start + i * step, "end": phrase.start + (i + 1) * step, "score": 0.9}
                 for i, t in enumerate(tokens)]
        segments.append({"start": phrase.start, "end": phrase.end, "text": phrase.text, "words": words})
    return segments


@pytest.mark.parametrize("shift", [0.0, 0.35, -0.6])
def test_same_labels_as_whisperx(shift):
    turns = [SpeakerTurn(t.start + shift, t.end + shift, t.speaker) for t in read_rttm(samples.speech_rttm())]
    segments = _words_from_reference()
    expected = whisperx.assign_word_speakers(to_whisperx_frame(turns), {"segments": copy.deepcopy(segments)},
                                             fill_nearest=True)["segments"]
    assert assign_speakers(turns, segments) == expected
    assert segments == _words_from_reference(), "inputs are not modified"


def test_no_turns_leaves_segments_unlabelled():
    segments = _words_from_reference()
    assert all("speaker" not in s for s in assign_speakers([], segments))


def test_whisperx_assign_word_speakers_accepts_the_frame():
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
    expected = whisperx.assign_word_speakers(frame, copy.deepcopy(transcript))["segments"]
    assert [w.get("speaker") for w in expected[0]["words"]] == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01", None]
    assert expected[0]["speaker"] == "SPEAKER_00"
    assert assign_speakers(turns, transcript["segments"])[0]["speaker"] == "SPEAKER_00"
    empty = to_whisperx_frame([])
    assert list(empty.columns) == ["start", "end", "speaker"] and len(empty) == 0
