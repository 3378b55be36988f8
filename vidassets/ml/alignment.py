"""Word alignment with a wav2vec2 CTC model through `whisperx.align`, offline.

`whisperx.align` splits sentences with NLTK's `punkt_tab` and otherwise calls `nltk.download`. We never let it
download: `ensure_punkt_tab()` writes an untrained Punkt table (sentences end at `.`, `?`, `!`, common
abbreviations kept) into our cache and puts it first on NLTK's search path.
"""

from pathlib import Path
from typing import Any

import numpy as np

from vidassets.ml.whisper_weights import ModelNotFoundError, model_cache_dir

PUNKT_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "jr", "sr", "e.g", "i.e")


def ensure_punkt_tab() -> Path:
    """An NLTK data dir holding `tokenizers/punkt_tab/english/`, registered on `nltk.data.path`."""
    import nltk

    root = model_cache_dir() / "nltk_data"
    folder = root / "tokenizers" / "punkt_tab" / "english"
    if not (folder / "ortho_context.tab").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "collocations.tab").write_text("")
        (folder / "sent_starters.txt").write_text("")
        (folder / "abbrev_types.txt").write_text("\n".join(PUNKT_ABBREVIATIONS) + "\n")
        (folder / "ortho_context.tab").write_text("")
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    return root


def load_align_model(model_name: str, language: str, device: str) -> tuple[Any, dict[str, Any]]:
    """A local wav2vec2 CTC directory (HF format) or a torchaudio pipeline name, never a download."""
    import torchaudio
    import whisperx

    if not Path(model_name).is_dir() and model_name not in torchaudio.pipelines.__all__:
        raise ModelNotFoundError(
            f"alignment model {model_name!r} is not a local wav2vec2 directory or torchaudio bundle: "
            "set VIDASSETS_ALIGN_MODEL to a directory, or leave it empty for faster-whisper word times"
        )
    return whisperx.load_align_model(
        language_code=language, device=device, model_name=model_name, model_cache_only=True
    )


def align_words(
    segments: list[dict[str, Any]], audio: np.ndarray, model: Any, metadata: dict[str, Any], device: str
) -> list[dict[str, Any]]:
    """WhisperX forced alignment: sentence-split segments with per-word start, end and score."""
    import whisperx

    ensure_punkt_tab()
    plain = [{"start": s["start"], "end": s["end"], "text": s["text"]} for s in segments]
    aligned = whisperx.align(plain, model, metadata, audio, device, return_char_alignments=False)
    out = []
    for seg in aligned["segments"]:
        words = [
            {k: (round(float(v), 3) if k in ("start", "end", "score") else v) for k, v in w.items()}
            for w in seg.get("words", [])
        ]
        out.append({"start": round(float(seg["start"]), 3), "end": round(float(seg["end"]), 3),
                    "text": seg["text"].strip(), "words": words})
    return out
