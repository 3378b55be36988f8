"""The offline diarizers by method name, so configuration can pick one (``VIDASSETS_DIARIZER``).

``segmentation`` (default, :mod:`vidassets.ml.diarization_segmentation`): pyannote's segmentation model shipped in
whisperx + Resemblyzer + cannot-link clustering; sees overlap and far-field speech. ``window``
(:mod:`vidassets.ml.diarization_offline`): Resemblyzer embeddings of 1.5 s windows after an energy VAD; cheaper to
import, good on clean two-speaker calls, poor on meetings. Figures: docs/QUALITY.md.
"""

from vidassets.ml.diarization import Diarizer

SEGMENTATION = "segmentation"
WINDOW = "window"
METHODS = (SEGMENTATION, WINDOW)
DEFAULT_METHOD = SEGMENTATION


def build_offline_diarizer(
    method: str = DEFAULT_METHOD, *, device: str = "cpu", min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarizer:
    """A diarizer with ``.diarize(samples) -> turns``, ``.name`` and ``.method`` for ``method``."""
    if method == SEGMENTATION:
        from vidassets.ml.diarization_segmentation import SegmentationDiarizer

        return SegmentationDiarizer(device=device, min_speakers=min_speakers, max_speakers=max_speakers)
    if method == WINDOW:
        from vidassets.ml.diarization_offline import WindowEmbeddingDiarizer

        return WindowEmbeddingDiarizer(device=device, min_speakers=min_speakers, max_speakers=max_speakers)
    raise ValueError(f"unknown offline diarizer {method!r} (VIDASSETS_DIARIZER); methods: {', '.join(METHODS)}")


def offline_diarizer_name(method: str = DEFAULT_METHOD) -> str:
    """The name `method`'s diarizer records, without loading it (for videos with no speech)."""
    if method == SEGMENTATION:
        from vidassets.ml.diarization_segmentation import SegmentationDiarizer

        return SegmentationDiarizer.NAME
    if method == WINDOW:
        from vidassets.ml.diarization_offline import WindowEmbeddingDiarizer

        return WindowEmbeddingDiarizer.NAME
    raise ValueError(f"unknown offline diarizer {method!r} (VIDASSETS_DIARIZER); methods: {', '.join(METHODS)}")
