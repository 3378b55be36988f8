"""Which models run, where and how: `ModelConfig`, with the defaults of every model setting.

`vidassets.settings` builds it from the `VIDASSETS_*` variables; the code location builds its `ModelLoader`
resource from `current_model_config()`, and the assets take their `code_version` from the same object, so what the
UI calls stale is what the runs load. `ml/` never reads this: it receives loaded models and plain values.
Dagster-free; secrets (HF token) are not part of it.
"""

import functools
import os
from dataclasses import dataclass

from vidassets.ml.offline_diarizers import DEFAULT_METHOD as DEFAULT_OFFLINE_DIARIZER
from vidassets.ml.offline_diarizers import METHODS as OFFLINE_DIARIZERS
from vidassets.ml.offline_diarizers import unknown_method_message

DEVICES = ("auto", "cpu", "cuda")
VAD_METHODS = ("auto", "pyannote", "silero")
SHOT_DETECTORS = ("auto", "pyscenedetect", "transnetv2")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def available_cores() -> int:
    """The cores this process may use (its CPU affinity), not the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _short(name: str) -> str:
    return os.path.basename(name.rstrip("/")) or name


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


@dataclass(frozen=True)
class ModelConfig:
    device: str = "auto"  # cuda when present, else cpu
    cpu_threads: int = 0  # 0: the cores available (WhisperX's default of 4 thrashes 2 cores)
    nudenet_model_path: str | None = None  # None: the 320n.onnx shipped in the nudenet wheel
    whisper_model: str = "base"  # offline name (base, tiny.en), a CTranslate2 directory, or a hub id
    compute_type: str = "auto"  # float16 on cuda, int8 on cpu
    batch_size: int = 8
    language: str | None = None  # None: detect
    vad_method: str = "auto"  # pyannote on cuda, silero on cpu
    align_model: str | None = None  # wav2vec2 directory or torchaudio bundle; None: whisper word times
    diarization_model: str | None = None  # pyannote pipeline dir (config.yaml) or hub id; None: offline diarizer
    offline_diarizer: str = DEFAULT_OFFLINE_DIARIZER  # the offline method when no pyannote pipeline is configured
    min_speakers: int | None = None
    max_speakers: int | None = None
    llm_model: str | None = None  # local instruction-LLM dir (production: Llama-3.2-3B-Instruct); None: TextRank
    text_moderation_model: str | None = None  # local HF text-classification dir (Detoxify-like); None: profanity-check
    text_moderation_languages: str = "en"  # comma-separated ISO 639-1 codes the configured model was trained on
    text_moderation_labels: str | None = None  # `label=category,...` for labels the built-in aliases do not know
    shot_detector: str = "auto"  # transnetv2 on cuda, pyscenedetect (ContentDetector + dissolve test) on cpu

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.vad_method not in VAD_METHODS:
            raise ValueError(f"vad_method must be one of {', '.join(VAD_METHODS)}, not {self.vad_method!r}")
        if self.offline_diarizer not in OFFLINE_DIARIZERS:
            raise ValueError(unknown_method_message(self.offline_diarizer))
        if self.shot_detector not in SHOT_DETECTORS:
            raise ValueError(f"shot_detector must be one of {', '.join(SHOT_DETECTORS)}, not {self.shot_detector!r}")

    # --- resolved at run time (GPU when present) ---------------------------------------------------------

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if cuda_available() else "cpu"
        return self.device

    def threads(self) -> int:
        """CPU threads for inference."""
        return self.cpu_threads if self.cpu_threads > 0 else available_cores()

    def resolved_compute_type(self) -> str:
        if self.compute_type != "auto":
            return self.compute_type
        return "float16" if self.resolved_device() == "cuda" else "int8"

    def resolved_vad(self) -> str:
        if self.vad_method != "auto":
            return self.vad_method
        return "pyannote" if self.resolved_device() == "cuda" else "silero"

    def resolved_shot_detector(self) -> str:
        if self.shot_detector != "auto":
            return self.shot_detector
        return "transnetv2" if self.resolved_device() == "cuda" else "pyscenedetect"

    # --- provenance: what manifests record and what code versions name ------------------------------------

    def shot_detector_tag(self) -> str:
        """The shot detector for code versions: `auto` names both candidates (the device is not part of a code
        version, as for the VAD); TransNetV2 by its package version and weights' content."""
        methods = [self.shot_detector] if self.shot_detector != "auto" else ["pyscenedetect", "transnetv2"]
        labels = []
        for method in methods:
            if method == "transnetv2":
                from vidassets.ml.transnetv2 import transnetv2_label

                labels.append(transnetv2_label())
            else:
                from importlib.metadata import version

                labels.append(f"pyscenedetect-content (scenedetect {version('scenedetect-headless')})")
        return f"shots-{self.shot_detector}({' / '.join(labels)})"

    def whisper_label(self) -> str:
        return f"whisper {self.whisper_model} ({self.resolved_compute_type()}, {self.resolved_device()})"

    def aligner_label(self) -> str:
        return f"wav2vec2:{self.align_model}" if self.align_model else "faster-whisper-cross-attention"

    def vad_tag(self) -> str:
        """The VAD for code versions: the configured method and its weights' content. `auto` (pyannote on GPU,
        silero on CPU) names both candidates: the device is not part of a code version, so CPU code-location
        processes and GPU workers agree on it."""
        methods = [self.vad_method] if self.vad_method != "auto" else ["pyannote", "silero"]
        from vidassets.ml.model_files import vad_model_path, weights_identity  # hashing: only when asked

        weights = "/".join(f"{m}-{weights_identity(functools.partial(vad_model_path, m), m)}" for m in methods)
        return f"vad-{self.vad_method}({weights})"

    def code_tag(self, role: str) -> str:
        """Model identities for an asset's `code_version`: configuring another model, or replacing a model file
        the version hashes (NudeNet, VAD), marks partitions stale."""
        if role == "moderation":
            from vidassets.ml.model_files import nudenet_model_path, weights_identity

            return f"nudenet-{weights_identity(lambda: nudenet_model_path(self.nudenet_model_path), 'nudenet')}"
        tags = {
            "transcript": f"{_short(self.whisper_model)}+{_short(self.align_model or 'whisper-words')}"
            f"+{self.vad_tag()}",
            "diarized_transcript": _short(self.diarization_model) if self.diarization_model
            else f"resemblyzer+{self.offline_diarizer}",
            "summary": _short(self.llm_model or "textrank-minilm"),
            "text_moderation": _short(self.text_moderation_model or "profanity-check"),
            "shots": self.shot_detector_tag(),
        }
        return tags[role]


@functools.cache
def current_model_config() -> ModelConfig:
    """This process's model configuration, read from the settings once: the assets' code versions are fixed when
    the code location loads, and the models a run loads must be the ones they name."""
    from vidassets.settings import load_settings

    return load_settings().models.config
