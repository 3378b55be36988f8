"""Production diarization: pyannote through WhisperX's `DiarizationPipeline`, from a local pipeline
directory (its `config.yaml`) or a hub id with a token. Never downloads when `HF_HUB_OFFLINE=1`."""

import os
from pathlib import Path

import numpy as np

from vidassets.ml.diarization_offline import SpeakerTurn
from vidassets.ml.whisper_weights import ModelNotFoundError


class PyannoteDiarizer:
    def __init__(
        self, model: str, *, token: str | None, device: str, min_speakers: int | None, max_speakers: int | None
    ):
        from whisperx.diarize import DiarizationPipeline

        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / "config.yaml").is_file():
                raise ModelNotFoundError(f"{path} has no config.yaml: not a pyannote pipeline directory")
            source = str(path / "config.yaml")
        elif path.suffix in (".yaml", ".yml") and path.is_file():
            source = str(path)
        elif os.environ.get("HF_HUB_OFFLINE") == "1" or not token:
            raise ModelNotFoundError(
                f"pyannote pipeline {model!r} is not a local directory; set VIDASSETS_DIARIZATION_MODEL to a "
                "pipeline directory with config.yaml, or provide HF_TOKEN for a hub id (online only)"
            )
        else:
            source = model
        self.model = model
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        self.pipeline = DiarizationPipeline(model_name=source, token=token, device=device)

    @property
    def name(self) -> str:
        return f"pyannote:{Path(self.model).name or self.model}"

    def diarize(self, audio: np.ndarray) -> list[SpeakerTurn]:
        frame = self.pipeline(audio, min_speakers=self.min_speakers, max_speakers=self.max_speakers)
        turns = [SpeakerTurn(float(r.start), float(r.end), str(r.speaker)) for r in frame.itertuples()]
        return sorted(turns, key=lambda t: (t.start, t.end))
