"""Model choice, device and a per-process cache: a run that handles many partitions loads each model once."""

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import dagster as dg

if TYPE_CHECKING:
    from vidassets.ml.nudenet_detector import NudeNetDetector
    from vidassets.ml.speech_recognition import SpeechRecognizer

T = TypeVar("T")

_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def cached_model(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """Load once per process per `key` (model kind, path, device, compute type)."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
        return _CACHE[key]


def loaded_model_keys() -> list[tuple[Any, ...]]:
    return list(_CACHE)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class ModelStore(dg.ConfigurableResource):
    """Owns which models run, where (`cuda` when present, else `cpu`) and with how many CPU threads."""

    device: str = "auto"
    cpu_threads: int = 0
    nudenet_model_path: str | None = None
    whisper_model: str = "base"  # offline name (base, tiny.en), a CTranslate2 directory, or a hub id
    compute_type: str = "auto"  # float16 on cuda, int8 on cpu
    batch_size: int = 8
    language: str | None = None  # None: detect
    vad_method: str = "auto"  # pyannote on cuda, silero on cpu
    align_model: str | None = None  # wav2vec2 directory or torchaudio bundle; None: whisper word times
    diarization_model: str | None = None  # pyannote pipeline dir (config.yaml) or hub id; None: offline diarizer
    hf_token: str | None = None  # only for hub ids; pass as dg.EnvVar("HF_TOKEN") so the UI never shows it
    offline_diarizer: str = "segmentation"  # segmentation | window (vidassets.ml.offline_diarizers)
    min_speakers: int | None = None
    max_speakers: int | None = None
    llm_model: str | None = None  # local instruction-LLM directory (production: Llama-3.2-3B-Instruct); None: TextRank

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if cuda_available() else "cpu"
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"ModelStore.device must be auto, cpu or cuda, not {self.device!r}")
        return self.device

    def threads(self) -> int:
        """CPU threads for inference: the cores this process may use (WhisperX's default of 4 thrashes 2 cores)."""
        if self.cpu_threads > 0:
            return self.cpu_threads
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def resolved_compute_type(self) -> str:
        if self.compute_type != "auto":
            return self.compute_type
        return "float16" if self.resolved_device() == "cuda" else "int8"

    def resolved_vad(self) -> str:
        if self.vad_method not in ("auto", "pyannote", "silero"):
            raise ValueError(f"ModelStore.vad_method must be auto, pyannote or silero, not {self.vad_method!r}")
        if self.vad_method != "auto":
            return self.vad_method
        return "pyannote" if self.resolved_device() == "cuda" else "silero"

    def recognizer(self) -> "SpeechRecognizer":
        from vidassets.ml.speech_recognition import RecognizerSpec, SpeechRecognizer
        from vidassets.ml.whisper_weights import resolve_whisper

        path, english_only = resolve_whisper(self.whisper_model)
        spec = RecognizerSpec(
            model_path=path, model_name=self.whisper_model, english_only=english_only,
            device=self.resolved_device(), compute_type=self.resolved_compute_type(), threads=self.threads(),
            vad_method=self.resolved_vad(),
        )
        return cached_model(("whisper", spec), lambda: SpeechRecognizer(spec))

    def aligner(self, language: str) -> tuple[Any, dict[str, Any]]:
        from vidassets.ml.alignment import load_align_model

        if not self.align_model:
            raise ValueError("no alignment model configured (VIDASSETS_ALIGN_MODEL)")
        device = self.resolved_device()
        return cached_model(
            ("align", self.align_model, language, device),
            lambda: load_align_model(self.align_model, language, device),
        )

    def diarizer(self) -> Any:
        """pyannote when a pipeline is configured, else the offline diarizer named by `offline_diarizer`."""
        device = self.resolved_device()
        if self.diarization_model:
            from vidassets.ml.diarization_pyannote import PyannoteDiarizer

            return cached_model(
                ("pyannote", self.diarization_model, device, self.min_speakers, self.max_speakers),
                lambda: PyannoteDiarizer(
                    self.diarization_model, token=self.hf_token, device=device,
                    min_speakers=self.min_speakers, max_speakers=self.max_speakers,
                ),
            )
        from vidassets.ml.offline_diarizers import build_offline_diarizer

        return cached_model(
            ("offline-diarizer", self.offline_diarizer, device, self.min_speakers, self.max_speakers),
            lambda: build_offline_diarizer(
                self.offline_diarizer, device=device, min_speakers=self.min_speakers, max_speakers=self.max_speakers
            ),
        )

    def summarizer(self) -> Any:
        """The configured instruction LLM, or the offline extractive TextRank summarizer."""
        device = self.resolved_device()
        if self.llm_model:
            from vidassets.ml.summarize import LLMSummarizer

            return cached_model(("llm", self.llm_model, device), lambda: LLMSummarizer(self.llm_model, device=device))
        from vidassets.ml.summarize import TextRankSummarizer

        return cached_model(("textrank", device), lambda: TextRankSummarizer(device=device))

    def nudenet(self) -> "NudeNetDetector":
        from vidassets.ml.nudenet_detector import NudeNetDetector

        device = self.resolved_device()
        return cached_model(
            ("nudenet", self.nudenet_model_path, device, self.threads()),
            lambda: NudeNetDetector.load(self.nudenet_model_path, device=device, threads=self.threads()),
        )
