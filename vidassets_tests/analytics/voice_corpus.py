"""A synthetic corpus for the speaker registry: copies of the approved test video with voices of chosen people
(unit embeddings near one vector per person), written as real manifests, transcript files and warehouse rows."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np

from vidassets.analytics.rows import video_tables
from vidassets.analytics.subtitles import render
from vidassets.analytics.warehouse import Warehouse
from vidassets.storage import Store
from vidassets.storage.layout import CONTENT_TYPES, TRANSCRIPT_FORMATS, manifest_key, transcript_key
from vidassets_tests.analytics import manifests as m

DIM = 256


def person_vectors(people: list[str], seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {p: rng.normal(size=DIM) for p in people}


def write_video(store: Store, video_id: str, people: tuple[str, str], vectors: dict[str, np.ndarray], *,
                key: str | None = None, bucket: str = "uploads", seed: int = 0) -> dict[str, Any]:
    """One two-speaker video (SPEAKER_00 = people[0], SPEAKER_01 = people[1]) under `store`."""
    rng = np.random.default_rng(seed)
    parts = copy.deepcopy(m.approved_manifests())
    for manifest in parts.values():
        manifest["video_id"] = video_id
    parts["source_video"].update({"bucket": bucket, "key": key or f"local/{video_id}.mp4"})
    voices = []
    for speaker, person in zip(("SPEAKER_00", "SPEAKER_01"), people, strict=True):
        base = vectors[person] / np.linalg.norm(vectors[person])
        vector = base + rng.normal(scale=0.01, size=DIM)
        voices.append({"speaker": speaker, "embedding": [float(x) for x in vector / np.linalg.norm(vector)],
                       "speech_s": 30.0, "windows": 12, "model": "resemblyzer", "too_short": False})
    parts["diarized_transcript"]["voices"] = voices
    for asset, manifest in parts.items():
        store.put_bytes(manifest_key(asset, video_id), json.dumps(manifest).encode(), "application/json")
    diarized = parts["diarized_transcript"]
    uploads = []
    for fmt in TRANSCRIPT_FORMATS:
        uploads.append((transcript_key(video_id, fmt), render(diarized, fmt).encode(), CONTENT_TYPES[fmt]))
        uploads.append((transcript_key(video_id, fmt, redacted=True), render(diarized, fmt).encode(),
                        CONTENT_TYPES[fmt]))
    store.put_many(uploads)
    Warehouse(store).write_video(video_id, video_tables(**parts, processed_at="2025-05-01T10:05:00+00:00"))
    return parts


def video_id(i: int) -> str:
    return f"talk-{i:03d}-{i:012x}"
