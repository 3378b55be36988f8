"""Our diarization error rate (`ml.der`) against hand-computed cases and pyannote.metrics, on real RTTM turns."""

import pytest

from vidassets import samples
from vidassets.ml.der import diarization_error_rate, read_rttm
from vidassets.ml.speech_types import SpeakerTurn


@pytest.fixture(scope="module")
def reference() -> list[SpeakerTurn]:
    return read_rttm(samples.speech_rttm())


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
    # one speaker for everything: B's 3 s are confusion, the 7-7.5 s gap is false alarm
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
def test_der_matches_pyannote_metrics(reference):
    diarization = pytest.importorskip("pyannote.metrics.diarization")
    from pyannote.core import Annotation, Segment

    def annotation(turns):
        ann = Annotation()
        for i, t in enumerate(turns):
            ann[Segment(t.start, t.end), i] = t.speaker
        return ann

    # a plausible diarizer output for the sample call: late and early bounds, one turn given the wrong speaker,
    # one merged into its neighbour, the overlapped backchannel missed, a stray false alarm (no label overlaps
    # itself: pyannote would count it twice)
    shifted = [SpeakerTurn(t.start + (0.3 if i % 2 else -0.2), t.end + 0.1, f"s{t.speaker[-1]}")
               for i, t in enumerate(reference)]
    shifted[0] = SpeakerTurn(shifted[0].start, shifted[0].end, "s1")
    hypothesis = [*shifted[:5], SpeakerTurn(shifted[5].start, shifted[6].end, shifted[5].speaker), *shifted[8:],
                  SpeakerTurn(0.5, 1.5, "s9")]
    overlap_ref = _turns((0.0, 4.0, "A"), (3.0, 6.0, "B"), (6.5, 9.0, "A"))
    overlap_hyp = _turns((0.1, 3.4, "1"), (3.4, 6.2, "2"), (6.2, 9.5, "1"), (9.6, 10.0, "3"))
    for ref, hyp in [(reference, hypothesis), (overlap_ref, overlap_hyp)]:
        for collar in (0.0, 0.25):
            for skip_overlap in (False, True):
                # pyannote's collar is the full width: ours (±0.25 s, md-eval style) is its 0.5
                metric = diarization.DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
                expected = metric(annotation(ref), annotation(hyp), detailed=True)
                ours = diarization_error_rate(ref, hyp, collar=collar, skip_overlap=skip_overlap)
                assert expected["diarization error rate"] > 0.02  # the cases have errors of every kind
                assert ours["total"] == pytest.approx(expected["total"], abs=0.03)
                assert ours["missed"] == pytest.approx(expected["missed detection"], abs=0.03)
                assert ours["false_alarm"] == pytest.approx(expected["false alarm"], abs=0.03)
                assert ours["confusion"] == pytest.approx(expected["confusion"], abs=0.03)
                assert ours["der"] == pytest.approx(expected["diarization error rate"], abs=0.005)
