"""Production diarization: pyannote through WhisperX's `DiarizationPipeline`, from a local pipeline
directory (its `config.yaml`) or a hub id with a token. Never downloads when told the hub is offline
(`HF_HUB_OFFLINE`).

The token is only handed to pyannote for hub ids: pyannote copies it into every `$model/...` entry of the
pipeline's parameters, so a local pipeline never gets it. pyannote 4 also reports every pipeline load and run
to its telemetry endpoint by default; we switch that off for the process.
"""

from pathlib import Path

import numpy as np

from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.speech_types import SpeakerTurn, VoiceRecord
from vidassets.ml.voices import voice_records
from vidassets.ml.whisper_weights import ModelNotFoundError

SETTING = "VIDASSETS_DIARIZATION_MODEL"


def _disable_pyannote_telemetry() -> None:
    from pyannote.audio.telemetry import set_telemetry_metrics

    set_telemetry_metrics(False)


def pipeline_label(model: str) -> str:
    """`pyannote:<pipeline name>` for a directory, config file or hub id (no loading)."""
    path = Path(model)
    label = path.parent.name if path.suffix in (".yaml", ".yml") else path.name
    return f"pyannote:{label or model}"


class PyannoteDiarizer:
    def __init__(
        self, model: str, *, token: str | None, device: str, min_speakers: int | None, max_speakers: int | None,
        hub_offline: bool,
    ):
        """`hub_offline` (the `HF_HUB_OFFLINE` setting) refuses hub ids up front instead of trying a download."""
        import yaml
        from whisperx.diarize import DiarizationPipeline

        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / "config.yaml").is_file():
                raise ModelNotFoundError(
                    f"{path} has no config.yaml: not a pyannote pipeline directory; set {SETTING} to one"
                )
            source, local = str(path / "config.yaml"), True
        elif path.suffix in (".yaml", ".yml") and path.is_file():
            source, local = str(path), True
        elif hub_offline or not token:
            raise ModelNotFoundError(
                f"pyannote pipeline {model!r} is not a local directory; set {SETTING} to a "
                "pipeline directory with config.yaml, or provide HF_TOKEN for a hub id (online only)"
            )
        else:
            source, local = model, False
        self.model = model
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        _disable_pyannote_telemetry()
        try:
            self.pipeline = DiarizationPipeline(model_name=source, token=None if local else token, device=device)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError, yaml.YAMLError) as error:
            if not local:
                raise
            # the local config names model/PLDA files that are missing or unreadable (pyannote then takes the
            # path for a hub id): say which setting to check instead of a bare FileNotFoundError/HF error
            raise ModelNotFoundError(
                f"pyannote pipeline {source} could not be loaded ({type(error).__name__}); check {SETTING} and "
                "the segmentation/embedding/plda files its config.yaml points at"
            ) from error

    @property
    def name(self) -> str:
        return pipeline_label(self.model)

    @property
    def method(self) -> str:
        return f"{self.name} (min_speakers={self.min_speakers}, max_speakers={self.max_speakers})"

    def diarize(self, audio: np.ndarray, speech_regions: list[tuple[float, float]] | None = None) -> list[SpeakerTurn]:
        """Speaker turns of 16 kHz mono `audio`, sorted, clipped to the audio's duration. `speech_regions` is
        accepted for interface parity with the offline diarizer; pyannote runs its own segmentation model."""
        return self._run(audio, embeddings=False)[0]

    def diarize_voices(self, audio: np.ndarray) -> tuple[list[SpeakerTurn], list[VoiceRecord]]:
        """Turns and voices: the pipeline's speaker centroids (`return_embeddings=True`; none when it has none)."""
        turns, centroids = self._run(audio, embeddings=True)
        vectors = {speaker: (np.asarray(vector, dtype=np.float64), None) for speaker, vector in centroids.items()
                   if vector is not None and np.all(np.isfinite(vector))}
        return turns, voice_records(vectors, turns, f"{self.name} embedding")

    def _run(self, audio: np.ndarray, *, embeddings: bool) -> tuple[list[SpeakerTurn], dict[str, list[float]]]:
        audio = np.ascontiguousarray(audio, dtype=np.float32)  # pyannote's models are float32
        if audio.ndim != 1:
            raise ValueError(f"PyannoteDiarizer.diarize expects mono audio (1-d), got shape {audio.shape}")
        if audio.size == 0:  # pyannote rejects an empty waveform
            return [], {}
        duration = audio.size / SAMPLE_RATE
        centroids: dict[str, list[float]] = {}
        if embeddings:
            frame, found = self.pipeline(audio, min_speakers=self.min_speakers, max_speakers=self.max_speakers,
                                         return_embeddings=True)
            centroids = dict(found or {})
        else:
            frame = self.pipeline(audio, min_speakers=self.min_speakers, max_speakers=self.max_speakers)
        turns = []
        for r in frame.itertuples():
            start, end = max(0.0, float(r.start)), min(duration, float(r.end))  # frames can overhang the end
            if end > start:
                turns.append(SpeakerTurn(start, end, str(r.speaker)))
        return sorted(turns, key=lambda t: (t.start, t.end)), centroids
