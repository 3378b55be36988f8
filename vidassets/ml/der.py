"""Diarization error rate (DER) on a fine time grid, plus an RTTM reader.

The DER follows the NIST md-eval definition::

    DER = (missed speech + false alarm + speaker confusion) / total scored reference speech

where every quantity is counted per speaker (overlapped speech counts once per speaker):

* ``missed``      = sum over frames of ``max(0, n_ref - n_hyp)``
* ``false alarm`` = sum over frames of ``max(0, n_hyp - n_ref)``
* ``confusion``   = sum over frames of ``min(n_ref, n_hyp) - n_correct``, where ``n_correct`` counts
  reference speakers whose *mapped* hypothesis speaker is active in the same frame.

The reference→hypothesis speaker mapping is one-to-one and maximises the total co-occurrence time on the
scored frames (Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`), as in md-eval and
``pyannote.metrics``.

``collar`` is the NIST *half-width*: frames within ``±collar`` seconds of any reference turn boundary are
not scored (md-eval ``-c 0.25``). Note that ``pyannote.metrics.diarization.DiarizationErrorRate(collar=…)``
takes the *full* width, so our ``collar=0.25`` equals pyannote's ``collar=0.5``.

The scored timeline is ``[0, max(end of reference, end of hypothesis))``; regions where neither side has
speech contribute nothing, so this matches the usual "extent of reference ∪ hypothesis" UEM.
Time is discretised with ``step`` (10 ms by default); a frame belongs to a turn when its centre does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidassets.ml.speech_types import SpeakerTurn

__all__ = ["diarization_error_rate", "read_rttm"]


def read_rttm(path: str | Path, *, file_id: str | None = None) -> list[SpeakerTurn]:
    """Read ``SPEAKER`` lines of an RTTM file into turns sorted by (start, end, speaker).

    RTTM fields: ``SPEAKER <file> <chan> <onset> <duration> <NA> <NA> <speaker> <NA> <NA>``.
    When ``file_id`` is given, only lines of that file are kept. Zero/negative durations are skipped.
    """
    turns: list[SpeakerTurn] = []
    for raw in Path(path).read_text().splitlines():
        fields = raw.split()
        if not fields or fields[0] != "SPEAKER" or len(fields) < 8:
            continue
        if file_id is not None and fields[1] != file_id:
            continue
        start, duration = float(fields[3]), float(fields[4])
        if duration <= 0:
            continue
        turns.append(SpeakerTurn(start=start, end=start + duration, speaker=fields[7]))
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def _activity(turns: Sequence[SpeakerTurn], labels: list[str], n_frames: int, step: float) -> np.ndarray:
    """Boolean matrix (n_frames, n_labels): frame centre inside a turn of that label."""
    act = np.zeros((n_frames, len(labels)), dtype=bool)
    index = {lab: i for i, lab in enumerate(labels)}
    for t in turns:
        # frame k has centre (k + 0.5) * step; inside [start, end) iff start <= centre < end
        lo = max(0, int(np.ceil(t.start / step - 0.5)))
        hi = min(n_frames, int(np.ceil(t.end / step - 0.5)))
        if hi > lo:
            act[lo:hi, index[t.speaker]] = True
    return act


def _labels(turns: Iterable[SpeakerTurn]) -> list[str]:
    return sorted({t.speaker for t in turns})


def diarization_error_rate(
    reference: Sequence[SpeakerTurn],
    hypothesis: Sequence[SpeakerTurn],
    *,
    collar: float = 0.25,
    skip_overlap: bool = False,
    step: float = 0.01,
) -> dict:
    """DER of ``hypothesis`` against ``reference`` (both lists of :class:`SpeakerTurn`).

    Args:
        collar: half-width in seconds of the no-score zone around every reference boundary (NIST style).
        skip_overlap: when True, frames where the reference has 2+ speakers are not scored.
        step: grid resolution in seconds.

    Returns a dict with seconds (``total``, ``missed``, ``false_alarm``, ``confusion``, ``correct``,
    ``scored_time``), rates relative to ``total`` (``der``, ``missed_rate``, ``false_alarm_rate``,
    ``confusion_rate``), the number of speakers on each side and the optimal ``mapping``
    (hypothesis label → reference label). When the scored reference speech is empty the rates are 0.0 if
    there is no error at all and ``inf`` otherwise.
    """
    if step <= 0:
        raise ValueError("step must be > 0")
    if collar < 0:
        raise ValueError("collar must be >= 0")
    end = max([t.end for t in reference] + [t.end for t in hypothesis] + [0.0])
    n_frames = int(np.ceil(end / step)) + 1
    ref_labels, hyp_labels = _labels(reference), _labels(hypothesis)
    ref = _activity(reference, ref_labels, n_frames, step)
    hyp = _activity(hypothesis, hyp_labels, n_frames, step)

    scored = np.ones(n_frames, dtype=bool)
    if collar > 0:
        # mark frames whose centre lies within ±collar of a reference boundary
        diff = np.zeros(n_frames + 1, dtype=np.int64)
        for t in reference:
            for b in (t.start, t.end):
                lo = max(0, int(np.ceil((b - collar) / step - 0.5)))
                hi = min(n_frames, int(np.floor((b + collar) / step - 0.5)) + 1)
                if hi > lo:
                    diff[lo] += 1
                    diff[hi] -= 1
        in_collar = np.cumsum(diff[:-1]) > 0
        scored &= ~in_collar
    if skip_overlap:
        scored &= ref.sum(axis=1) <= 1

    ref, hyp = ref[scored], hyp[scored]
    n_ref = ref.sum(axis=1)
    n_hyp = hyp.sum(axis=1)

    mapping: dict[str, str] = {}
    n_correct = 0
    if ref_labels and hyp_labels:
        cooc = ref.T.astype(np.int64) @ hyp.astype(np.int64)  # (n_ref_labels, n_hyp_labels) frames
        rows, cols = linear_sum_assignment(-cooc)
        for r, c in zip(rows, cols, strict=True):
            if cooc[r, c] > 0:
                mapping[hyp_labels[c]] = ref_labels[r]
                n_correct += int(cooc[r, c])

    total = float(n_ref.sum()) * step
    missed = float(np.maximum(n_ref - n_hyp, 0).sum()) * step
    false_alarm = float(np.maximum(n_hyp - n_ref, 0).sum()) * step
    confusion = float(np.minimum(n_ref, n_hyp).sum() - n_correct) * step
    error = missed + false_alarm + confusion

    def rate(x: float) -> float:
        if total > 0:
            return x / total
        return 0.0 if error == 0 else float("inf")

    return {
        "der": rate(error),
        "missed_rate": rate(missed),
        "false_alarm_rate": rate(false_alarm),
        "confusion_rate": rate(confusion),
        "total": total,
        "missed": missed,
        "false_alarm": false_alarm,
        "confusion": confusion,
        "correct": n_correct * step,
        "scored_time": float(scored.sum()) * step,
        "n_reference_speakers": len(ref_labels),
        "n_hypothesis_speakers": len(hyp_labels),
        "mapping": mapping,
        "collar": collar,
        "skip_overlap": skip_overlap,
    }
