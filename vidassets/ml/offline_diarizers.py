"""The offline diarizer by method name, so configuration can pick one (``VIDASSETS_DIARIZER``).

One method is left: ``segmentation`` (:mod:`vidassets.ml.diarization_segmentation`), pyannote's segmentation model
shipped in whisperx + Resemblyzer + cannot-link clustering. The older ``window`` method (Resemblyzer embeddings of
1.5 s windows after an energy VAD) was retired: it was worse on every quality measure in docs/QUALITY.md (AMI turn
DER 60% vs 14%, segment DER 31% vs 24%, speaker count, the two-speaker call) and only ~30% cheaper on CPU, a
margin that is small next to speech recognition and paid once per warm worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # model_config reads the method names above; the daemon's image has no numpy
    from vidassets.ml.diarization import Diarizer

SEGMENTATION = "segmentation"
METHODS = (SEGMENTATION,)
DEFAULT_METHOD = SEGMENTATION
RETIRED = {"window": "retired: worse on every quality measure in docs/QUALITY.md"}


def unknown_method_message(method: str, setting: str = "VIDASSETS_DIARIZER") -> str:
    """The error for a method that is not (or no longer) an offline diarizer: names the setting and the choices."""
    why = f" ({RETIRED[method]})" if method in RETIRED else ""
    return f"{setting}={method!r} is not an offline diarizer{why}; valid choices: {', '.join(METHODS)}"


def build_offline_diarizer(
    method: str = DEFAULT_METHOD, *, device: str = "cpu", min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarizer:
    """A diarizer with ``.diarize(samples) -> turns``, ``.name`` and ``.method`` for ``method``."""
    if method == SEGMENTATION:
        from vidassets.ml.diarization_segmentation import SegmentationDiarizer

        return SegmentationDiarizer(device=device, min_speakers=min_speakers, max_speakers=max_speakers)
    raise ValueError(unknown_method_message(method))


def offline_diarizer_name(method: str = DEFAULT_METHOD) -> str:
    """The name `method`'s diarizer records, without loading it (for videos with no speech)."""
    if method == SEGMENTATION:
        from vidassets.ml.diarization_segmentation import SegmentationDiarizer

        return SegmentationDiarizer.NAME
    raise ValueError(unknown_method_message(method))
