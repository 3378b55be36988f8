"""Word alignment with a wav2vec2 CTC model through `whisperx.align`, offline.

`whisperx.align` splits sentences with NLTK's `punkt_tab` and otherwise calls `nltk.download`. We never let it
download: `ensure_punkt_tab()` (called when the model is loaded) writes an untrained Punkt table (sentences end at
`.`, `?`, `!`, common abbreviations kept) for every language whisperx may ask for into our cache and puts it first
on NLTK's search path.
"""

import os
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import numpy as np

from vidassets.ml.speech_types import Segment, Word
from vidassets.ml.whisper_weights import ModelNotFoundError

PUNKT_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "jr", "sr", "e.g", "i.e")
SETTING = "VIDASSETS_ALIGN_MODEL"


def _punkt_languages() -> set[str]:
    """Every Punkt model name `whisperx.align` may load (unlisted languages fall back to english)."""
    from whisperx.utils import PUNKT_LANGUAGES

    return {"english", *PUNKT_LANGUAGES.values()}


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def ensure_punkt_tab(cache_dir: Path) -> Path:
    """An NLTK data dir (`<cache_dir>/nltk_data`) holding `tokenizers/punkt_tab/<language>/` for every language
    whisperx maps to a Punkt model, registered first on `nltk.data.path`."""
    import nltk

    root = Path(cache_dir) / "nltk_data"
    abbreviations = "\n".join(PUNKT_ABBREVIATIONS) + "\n"
    for language in sorted(_punkt_languages()):
        folder = root / "tokenizers" / "punkt_tab" / language
        if (folder / "ortho_context.tab").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        # each file replaced whole and ortho_context.tab (the completeness marker) last: a concurrent reader
        # never sees a half-written table
        _write_atomically(folder / "collocations.tab", "")
        _write_atomically(folder / "sent_starters.txt", "")
        _write_atomically(folder / "abbrev_types.txt", abbreviations)
        _write_atomically(folder / "ortho_context.tab", "")
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    return root


def _torchaudio_bundle(model_name: str) -> Any | None:
    """The torchaudio wav2vec2 CTC bundle called `model_name`, or None when it is not one."""
    import torchaudio
    from torchaudio.pipelines import Wav2Vec2ASRBundle, Wav2Vec2FABundle

    if model_name not in torchaudio.pipelines.__all__:
        return None
    bundle = getattr(torchaudio.pipelines, model_name)
    if not isinstance(bundle, Wav2Vec2ASRBundle) or isinstance(bundle, Wav2Vec2FABundle):
        return None
    return bundle


def _torchaudio_checkpoint(bundle: Any) -> Path:
    """Where `torch.hub.load_state_dict_from_url` keeps the bundle's weights (it downloads when absent)."""
    import torch

    url = bundle._path
    if not url.startswith("https"):  # as torchaudio.pipelines._wav2vec2.utils._get_state_dict builds it
        url = f"https://download.pytorch.org/torchaudio/models/{url}"
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def load_align_model(model_name: str, language: str, device: str, *, cache_dir: Path) -> tuple[Any, dict[str, Any]]:
    """A local wav2vec2 CTC directory (HF format) or a torchaudio ASR bundle already in the torch hub cache,
    never a download. Also writes the Punkt tables `align_words` needs into `cache_dir` (`ensure_punkt_tab`)."""
    import whisperx

    path = Path(model_name).expanduser() if model_name else None
    bundle = _torchaudio_bundle(model_name) if model_name else None
    if bundle is not None:
        checkpoint = _torchaudio_checkpoint(bundle)
        if not checkpoint.is_file():
            raise ModelNotFoundError(
                f"torchaudio bundle {model_name!r} is not in the torch hub cache ({checkpoint} is missing) and "
                f"would be downloaded: pre-fetch it into the image, or set {SETTING} to a wav2vec2 directory"
            )
        ensure_punkt_tab(cache_dir)
        return whisperx.load_align_model(language_code=language, device=device, model_name=model_name)
    if path is None or not path.is_dir():
        raise ModelNotFoundError(
            f"alignment model {model_name!r} is not a local wav2vec2 directory or torchaudio ASR bundle: "
            f"set {SETTING} to a directory, or leave it empty for faster-whisper word times"
        )
    ensure_punkt_tab(cache_dir)
    try:
        return whisperx.load_align_model(
            language_code=language, device=device, model_name=str(path), model_cache_only=True
        )
    except ValueError as error:  # whisperx turns every loading error into "could not be found in huggingface"
        raise ModelNotFoundError(
            f"{path} is not a loadable wav2vec2 CTC directory (Wav2Vec2Processor + Wav2Vec2ForCTC files): "
            f"check {SETTING}"
        ) from error


def align_words(
    segments: list[Segment], audio: np.ndarray, model: Any, metadata: dict[str, Any], device: str
) -> list[Segment]:
    """WhisperX forced alignment: sentence-split segments with per-word start, end and score."""
    import whisperx

    # the Punkt tables are in place: the model came from `load_align_model`
    plain = [{"start": s["start"], "end": s["end"], "text": s["text"]} for s in segments]
    audio = np.ascontiguousarray(audio, dtype=np.float32)  # the model's weights are float32
    aligned = whisperx.align(plain, model, metadata, audio, device, return_char_alignments=False)
    out: list[Segment] = []
    for seg in aligned["segments"]:
        # whisperx leaves out the times of words it could not place (numerals): keys absent, never None
        words = [
            cast(Word, {k: (round(float(v), 3) if k in ("start", "end", "score") else v) for k, v in w.items()})
            for w in seg.get("words", [])
        ]
        out.append({"start": round(float(seg["start"]), 3), "end": round(float(seg["end"]), 3),
                    "text": seg["text"].strip(), "words": words})
    return out
