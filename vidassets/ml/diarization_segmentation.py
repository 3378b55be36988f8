"""Offline speaker diarization the pyannote 3.x way, on the segmentation model shipped in the whisperx wheel.

The one offline diarizer (the older window-embedding one, an energy VAD plus one speaker per 1.5 s window, was
retired: worse on every quality measure in docs/QUALITY.md). It is built like pyannote's ``SpeakerDiarization``
pipeline, with the parts we can ship offline:

1. **Local segmentation** – ``whisperx/assets/pytorch_model.bin`` is pyannote's speaker-segmentation model
   (PyanNet: SincNet + 4 BiLSTM, 5 s windows, up to 3 local speakers, multi-label, ~17 ms frames). It runs on
   5 s chunks every ``step_s`` seconds; each chunk says, per frame, which of its local speakers talk (so also
   overlap and speaker changes inside the chunk). Thresholded at ``onset``.
2. **Embeddings** – one Resemblyzer d-vector (the shipped encoder, 256-d) per (chunk, local speaker), from that
   speaker's frames where nobody else talks in the chunk (all its frames when it never talks alone): the mel
   frames are gathered and embedded in 1.6 s partials (what Resemblyzer was trained on), partials averaged.
3. **Constrained clustering** – average-linkage agglomerative clustering of the embeddings of speakers active
   alone for at least ``min_active_s`` in their chunk, cosine distance, that never merges two clusters holding
   two local speakers of one chunk (cannot-link), stopped at ``threshold`` (automatic count, clamped to
   ``[min_speakers, max_speakers]``); clusters smaller than ``min_cluster_size`` are dissolved. Then every
   (chunk, local speaker) is assigned to a centroid with the Hungarian algorithm per chunk, so two local
   speakers of one chunk never get one global label (when there are enough speakers).
4. **Reconstruction** (pyannote's own functions) – the number of speakers per frame is the average over chunks
   of the local count; each frame takes that many global speakers, those with the highest aggregated activation.
   Speech regions and overlap come from this, not from an energy VAD.

Cost on 2 CPU cores: segmentation ~0.3% of real time per chunk overlap (5 s / ``step_s``), embedding about 1 s
per minute of speech embedded; clustering is O(n²) per merge in the number of embeddings n, bounded by
``max_cluster_embeddings`` (the rest are assigned to centroids). ``benchmarks/quality_diarization.py`` measures.
Loading imports ``pyannote.audio`` (~10-15 s cold on 2 cores), once per process.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidassets.media.audio import SAMPLE_RATE
from vidassets.ml.diarization import check_speaker_bounds
from vidassets.ml.model_files import segmentation_model_path
from vidassets.ml.speaker_embeddings import embed_mels, load_encoder, mel_batch, resemblyzer_hparams
from vidassets.ml.speech_types import SpeakerTurn, VoiceRecord
from vidassets.ml.voices import voice_records

MODEL_NAME = "pyannote-segmentation(whisperx)+resemblyzer"
VOICE_MODEL = "resemblyzer"  # the embedding model of the voices (versioned in `method`)
CLUSTERING_NAME = "cannot-link-average-linkage"
CHUNK_S = 5.0
MEL_STEP_S = 0.01  # Resemblyzer: 10 ms mel frames
PARTIAL_FRAMES = 160  # Resemblyzer: 1.6 s partials

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def load_segmentation_model(device: str = "cpu", path: str | Path | None = None) -> Any:
    """pyannote's segmentation ``Model`` on ``device``, loaded once per process (thread-safe)."""
    path = str(path or segmentation_model_path())
    key = f"{path}@{device}"
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            # pyannote telemetry is off for the process: `vidassets/__init__.py` sets PYANNOTE_METRICS_ENABLED=0
            with warnings.catch_warnings():  # torchcodec/ffmpeg and lightning upgrade chatter
                warnings.simplefilter("ignore")
                import logging

                import torch
                from pyannote.audio import Model

                level = logging.getLogger("lightning").level
                logging.getLogger("lightning").setLevel(logging.ERROR)
                logging.getLogger("lightning.pytorch.utilities.migration.utils").setLevel(logging.ERROR)
                try:
                    model = Model.from_pretrained(path)
                finally:
                    logging.getLogger("lightning").setLevel(level)
            if model is None:
                raise FileNotFoundError(f"pyannote could not load a segmentation model from {path}")
            model.eval()
            model.to(torch.device(device))
            _MODELS[key] = model
        return model


@dataclass(frozen=True)
class SegmentationRun:
    """Everything one :meth:`SegmentationDiarizer.run` produced."""

    turns: list[SpeakerTurn]  # may overlap in time: overlapped speech has one turn per speaker
    speech_regions: list[tuple[float, float]]
    overlap_regions: list[tuple[float, float]]
    chunks: np.ndarray  # (C, 2) chunk start/end seconds
    local_activity: np.ndarray  # (C, F, 3) bool: local speaker active per frame
    local_clusters: np.ndarray  # (C, 3) global cluster per local speaker, -2 inactive, -1 unassigned
    embeddings: np.ndarray  # (C, 3, 256), NaN where a local speaker has no embedding
    timings: dict[str, float]  # seconds per stage: segmentation, embed, cluster, turns
    clean_s: np.ndarray | None = None  # (C, 3) seconds each local speaker talks alone in its chunk
    speaker_clusters: dict[str, int] = field(default_factory=dict)  # turn label -> global cluster

    @property
    def n_speakers(self) -> int:
        return len({t.speaker for t in self.turns})

    def voice_vectors(self, min_clean_s: float) -> dict[str, tuple[np.ndarray, int]]:
        """Per speaker: the mean of its (chunk, local speaker) embeddings with at least ``min_clean_s`` of speech
        alone in the chunk (all its embeddings when none has), and how many were averaged."""
        valid = ~np.isnan(self.embeddings).any(axis=2)
        clean = self.clean_s if self.clean_s is not None else np.zeros(valid.shape)
        out = {}
        for speaker, j in self.speaker_clusters.items():
            mine = valid & (self.local_clusters == j)
            chosen = mine & (clean >= min_clean_s)
            chosen = chosen if chosen.any() else mine
            if chosen.any():
                out[speaker] = (self.embeddings[chosen].astype(np.float64).mean(axis=0), int(chosen.sum()))
        return out


class SegmentationDiarizer:
    """Diarization from pyannote's segmentation model + Resemblyzer embeddings + cannot-link clustering.

    A :class:`~vidassets.ml.diarization.Diarizer` (``diarize(audio) -> turns``, ``name``, ``method``); details in
    the module docstring. Turns may overlap in
    time where the model hears two speakers at once.
    """

    NAME = f"{MODEL_NAME}+{CLUSTERING_NAME}"

    def __init__(
        self,
        *,
        device: str = "cpu",
        step_s: float = 2.0,
        onset: float = 0.5,
        threshold: float = 0.3,
        min_cluster_size: int = 5,
        min_active_s: float = 0.5,
        min_embed_s: float = 0.3,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        max_auto_speakers: int = 8,
        min_duration_off: float = 0.1,
        max_cluster_embeddings: int = 1000,
        batch_size: int = 32,
        model_path: str | Path | None = None,
    ):
        if not 0 < step_s <= CHUNK_S:
            raise ValueError(f"step_s must be in (0, {CHUNK_S}]")
        check_speaker_bounds(min_speakers, max_speakers)
        self.device = device
        self.step_s = float(step_s)
        self.onset = float(onset)
        self.threshold = float(threshold)
        self.min_cluster_size = int(min_cluster_size)
        self.min_active_s = float(min_active_s)
        self.min_embed_s = float(min_embed_s)
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        self.max_auto_speakers = int(max_auto_speakers)
        self.min_duration_off = float(min_duration_off)
        self.max_cluster_embeddings = int(max_cluster_embeddings)
        self.batch_size = int(batch_size)
        self.model_path = str(model_path or segmentation_model_path())
        self.model = load_segmentation_model(device, self.model_path)
        self.encoder = load_encoder(device)

    # ------------------------------------------------------------------ provenance
    @property
    def name(self) -> str:
        return self.NAME

    @property
    def method(self) -> str:
        """``name`` with the parameters that shape the output, for provenance records."""
        from importlib.metadata import version

        return (
            f"{self.name}(segmentation=whisperx=={version('whisperx')} assets/pytorch_model.bin, "
            f"resemblyzer={version('resemblyzer')}, chunk={CHUNK_S}s, step={self.step_s}s, onset={self.onset}, "
            f"threshold={self.threshold}, min_cluster_size={self.min_cluster_size}, "
            f"min_active={self.min_active_s}s, min_speakers={self.min_speakers}, "
            f"max_speakers={self.max_speakers}, min_duration_off={self.min_duration_off}s)"
        )

    # ------------------------------------------------------------------ public API
    def diarize(
        self, audio: np.ndarray, speech_regions: list[tuple[float, float]] | None = None
    ) -> list[SpeakerTurn]:
        """Speaker turns of ``audio`` (float32 mono 16 kHz), sorted by start; ``[]`` for silence.

        ``speech_regions`` is accepted for interface parity and ignored: speech comes from the segmentation model.
        """
        return self.run(audio).turns

    def diarize_voices(self, audio: np.ndarray) -> tuple[list[SpeakerTurn], list[VoiceRecord]]:
        """Turns, and one voice per speaker: the mean of its clean-speech Resemblyzer embeddings (chunks where it
        talks alone for at least ``min_active_s``, the ones clustering trusts)."""
        run = self.run(audio)
        return run.turns, voice_records(run.voice_vectors(self.min_active_s), run.turns, VOICE_MODEL)

    def run(self, audio: np.ndarray) -> SegmentationRun:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"audio must be mono (1-D samples), got shape {audio.shape}")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        starts, padded = self._chunks(audio)
        probs = self.segment(padded, starts)
        active = probs > self.onset
        timings["segmentation"] = time.perf_counter() - t0
        n_chunks = len(starts)
        chunks = np.stack([starts, starts + CHUNK_S], axis=1)
        empty = np.full((n_chunks, active.shape[2] if active.ndim == 3 else 3), -2, dtype=int)
        if len(audio) == 0 or not active.any():
            return SegmentationRun([], [], [], chunks, active, empty,
                                   np.full((*empty.shape, 256), np.nan, dtype=np.float32), timings)

        t0 = time.perf_counter()
        embeddings, clean = self.embed(padded, starts, active)
        timings["embed"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        clusters = self.cluster(embeddings, clean, active)
        timings["cluster"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        turns, speech, overlap, names = self._reconstruct(active, clusters, starts, len(audio) / SAMPLE_RATE)
        timings["turns"] = time.perf_counter() - t0
        return SegmentationRun(turns, speech, overlap, chunks, active, clusters, embeddings, timings, clean, names)

    # ------------------------------------------------------------------ stages
    def _chunks(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chunk start times (the last chunk ends at or after the audio) and the audio zero-padded to them."""
        duration = len(audio) / SAMPLE_RATE
        n = 1 if duration <= CHUNK_S else int(np.ceil((duration - CHUNK_S) / self.step_s - 1e-9)) + 1
        starts = np.arange(n, dtype=np.float64) * self.step_s
        total = int(round((starts[-1] + CHUNK_S) * SAMPLE_RATE))
        padded = np.zeros(max(total, len(audio)), dtype=np.float32)
        padded[: len(audio)] = audio
        return starts, padded

    def segment(self, padded: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(C, F, 3) local speaker probabilities for 5 s chunks of ``padded`` starting at ``starts``."""
        import torch

        width = int(round(CHUNK_S * SAMPLE_RATE))
        out = []
        with torch.inference_mode():
            for first in range(0, len(starts), self.batch_size):
                batch = np.stack([
                    padded[int(round(s * SAMPLE_RATE)): int(round(s * SAMPLE_RATE)) + width]
                    for s in starts[first: first + self.batch_size]
                ])
                x = torch.from_numpy(batch[:, None, :]).to(next(self.model.parameters()).device)
                out.append(self.model(x).float().cpu().numpy())
        return np.concatenate(out, axis=0)

    def _frame_times(self, n_frames: int) -> np.ndarray:
        rf = self.model.receptive_field
        return rf.start + rf.duration / 2 + np.arange(n_frames) * rf.step

    def embed(self, padded: np.ndarray, starts: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(C, S, 256) Resemblyzer embeddings per (chunk, local speaker) — NaN without enough speech — and the
        (C, S) seconds each local speaker talks alone in its chunk."""
        hparams = resemblyzer_hparams()
        n_chunks, n_frames, n_local = active.shape
        frame_step = self.model.receptive_field.step
        alone = active & (active.sum(axis=2, keepdims=True) == 1)
        clean = alone.sum(axis=1) * frame_step

        # mel spectrograms per chunk (batched; the whole file's STFT would not fit for long inputs), of audio
        # brought to Resemblyzer's loudness over speech; each local speaker's mask picks its frames
        speech_frames = np.asarray(active.any(axis=2))
        gain = self._gain(padded, starts, speech_frames, hparams)
        frame_times = self._frame_times(n_frames)
        mel_per_chunk = int(round(CHUNK_S / MEL_STEP_S))
        # segmentation frame for every mel frame of a chunk (mel frame j is centred at j * 10 ms)
        nearest = np.clip(np.searchsorted(frame_times, np.arange(mel_per_chunk) * MEL_STEP_S), 0, n_frames - 1)
        min_frames = int(round(self.min_embed_s / MEL_STEP_S))
        width = int(round(CHUNK_S * SAMPLE_RATE))
        partials: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []
        sums: dict[tuple[int, int], np.ndarray] = {}

        def flush() -> None:  # embed the pending partials, add them up per (chunk, local speaker)
            if partials:
                vectors = embed_mels(self.encoder, np.stack(partials))
                for owner, vector in zip(owners, vectors, strict=True):
                    sums[owner] = sums.get(owner, 0) + vector
                partials.clear()
                owners.clear()

        speaking = np.flatnonzero(speech_frames.any(axis=1))
        for first in range(0, len(speaking), self.batch_size):
            batch = speaking[first: first + self.batch_size]
            wavs = np.stack([
                padded[int(round(starts[c] * SAMPLE_RATE)): int(round(starts[c] * SAMPLE_RATE)) + width]
                for c in batch
            ]) * gain
            mels = mel_batch(wavs, hparams)[:, :mel_per_chunk]
            for c, chunk_mel in zip(batch, mels, strict=True):
                for s in range(n_local):
                    if not active[c, :, s].any():
                        continue
                    mask = (alone if clean[c, s] >= self.min_embed_s else active)[c, nearest, s]
                    frames = chunk_mel[mask]
                    if len(frames) < min_frames:
                        continue
                    for piece in _partials(frames):
                        partials.append(piece)
                        owners.append((int(c), s))
            if len(partials) >= 256:
                flush()
        flush()
        embeddings = np.full((n_chunks, n_local, hparams.model_embedding_size), np.nan, dtype=np.float32)
        for (c, s), total in sums.items():
            embeddings[c, s] = total / max(float(np.linalg.norm(total)), 1e-8)
        return embeddings, clean

    def _gain(self, padded: np.ndarray, starts: np.ndarray, speech_frames: np.ndarray, hparams) -> np.float32:
        """Resemblyzer's loudness target (-30 dBFS, increase only), measured on the speech the model found."""
        energy, count = 0.0, 0
        width = int(round(CHUNK_S * SAMPLE_RATE))
        # the chunks that hear speech, about one in every 5 s (a cheap proxy for the speech samples)
        for c in np.flatnonzero(speech_frames.any(axis=1))[:: max(1, int(round(CHUNK_S / self.step_s)))]:
            a = int(round(starts[c] * SAMPLE_RATE))
            piece = padded[a: a + width]
            energy += float(np.dot(piece, piece))
            count += len(piece)
        if energy <= 0 or count == 0:
            return np.float32(1.0)
        rms = np.sqrt(energy / count)
        return np.float32(max(1.0, 10 ** ((hparams.audio_norm_target_dBFS - 20 * np.log10(rms)) / 20)))

    def cluster(self, embeddings: np.ndarray, clean: np.ndarray, active: np.ndarray) -> np.ndarray:
        """(C, S) global cluster per (chunk, local speaker): -2 inactive, else 0..k-1 (-1 if it could not be
        assigned). Two local speakers of one chunk never share a cluster when there are enough clusters."""
        n_chunks, _, n_local = active.shape
        valid = ~np.isnan(embeddings).any(axis=2)
        train = valid & (clean >= self.min_active_s)
        if not train.any():  # nobody talks alone long enough: fall back to every embedding there is
            train = valid
        # local speakers too short to embed (< min_embed_s) are left out: their frames go to the speakers the
        # overlapping chunks heard there, or count as non-speech
        hard = np.full((n_chunks, n_local), -2, dtype=int)
        hard[valid] = -1
        if not train.any():
            return hard
        chunk_idx, speaker_idx = np.nonzero(train)
        if len(chunk_idx) > self.max_cluster_embeddings:  # evenly spaced subset bounds the O(n^2) part
            keep = np.linspace(0, len(chunk_idx) - 1, self.max_cluster_embeddings).round().astype(int)
            chunk_idx, speaker_idx = chunk_idx[keep], speaker_idx[keep]
        vectors = embeddings[chunk_idx, speaker_idx].astype(np.float64)
        lo = self.min_speakers or 1
        hi = self.max_speakers or self.max_auto_speakers
        labels = constrained_agglomerative(vectors, chunk_idx, self.threshold, min_clusters=lo, max_clusters=hi)
        labels = _drop_small_clusters(labels, min(self.min_cluster_size, max(1, round(0.1 * len(labels)))), lo)
        k = int(labels.max()) + 1
        centroids = np.stack([vectors[labels == j].mean(axis=0) for j in range(k)])  # kept clusters only
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-8)
        scores = np.nan_to_num(embeddings @ centroids.T, nan=-1.0)  # (C, S, k)
        return constrained_assignment(scores, hard)

    def _reconstruct(
        self, active: np.ndarray, clusters: np.ndarray, starts: np.ndarray, duration: float
    ) -> tuple[list[SpeakerTurn], list[tuple[float, float]], list[tuple[float, float]], dict[str, int]]:
        """pyannote's reconstruction: per-frame speaker count from the chunks, top-count global speakers; also
        the global cluster of every turn label."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyannote.audio.core.inference import Inference
            from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization
            from pyannote.core import SlidingWindow, SlidingWindowFeature

        frames = self.model.receptive_field
        window = SlidingWindow(start=0.0, duration=CHUNK_S, step=self.step_s)
        binary = SlidingWindowFeature(active.astype(np.float32), window)
        count = SpeakerDiarization.speaker_count(binary, frames, warm_up=(0.0, 0.0))
        cap = self.max_speakers or active.shape[2]
        count.data = np.minimum(count.data, cap).astype(np.int8)
        k = int(clusters.max()) + 1
        if k <= 0:
            return [], [], [], {}
        n_chunks, n_frames, _ = active.shape
        clustered = np.full((n_chunks, n_frames, k), np.nan, dtype=np.float32)
        for c in range(n_chunks):
            for j in np.unique(clusters[c]):
                if j < 0:
                    continue
                clustered[c, :, j] = active[c][:, clusters[c] == j].max(axis=1)
        # as pyannote's to_diarization, except that a frame never gets a speaker no chunk heard there
        activations = Inference.aggregate(
            SlidingWindowFeature(clustered, window), count.sliding_window, hamming=False, missing=0.0,
            skip_average=True,
        )
        extent = activations.extent & count.extent
        activations = activations.crop(extent, return_data=False)
        count = count.crop(extent, return_data=False)
        n = min(len(activations.data), len(count.data))
        act, cnt = np.nan_to_num(activations.data[:n]), count.data[:n, 0].astype(int)
        cnt = np.minimum(cnt, (act > 0).sum(axis=1))
        order = np.argsort(-act, axis=1, kind="stable")
        labels = np.zeros(act.shape, dtype=bool)
        rank = np.argsort(order, axis=1)  # rank of each speaker in its frame
        labels[rank < cnt[:, None]] = True
        t_frames = activations.sliding_window
        times = t_frames.start + t_frames.duration / 2 + np.arange(len(labels)) * t_frames.step
        half = t_frames.step / 2
        in_audio = times < duration
        labels, times = labels[in_audio], times[in_audio]
        speech = _runs(labels.any(axis=1), times, half, self.min_duration_off)
        overlap = _runs(labels.sum(axis=1) >= 2, times, half, 0.0)
        raw: list[tuple[float, float, int]] = []
        for j in range(labels.shape[1]):
            raw += [(a, b, j) for a, b in _runs(labels[:, j], times, half, self.min_duration_off)]
        raw.sort()
        names: dict[int, str] = {}
        turns = []
        for a, b, j in raw:
            name = names.setdefault(j, f"SPEAKER_{len(names):02d}")
            turns.append(SpeakerTurn(start=round(max(0.0, a), 3), end=round(min(b, duration), 3), speaker=name))
        kept = [t for t in turns if t.end > t.start]
        labels_kept = {t.speaker for t in kept}
        return kept, speech, overlap, {name: j for j, name in names.items() if name in labels_kept}


def _partials(frames: np.ndarray) -> list[np.ndarray]:
    """Fixed-size 1.6 s pieces of (n, 40) mel frames: back-to-back (the last one aligned to the end), or one
    piece repeating the frames cyclically when there are fewer than 160."""
    n = len(frames)
    if n < PARTIAL_FRAMES:
        return [np.resize(frames, (PARTIAL_FRAMES, frames.shape[1]))]
    offsets = list(range(0, n - PARTIAL_FRAMES + 1, PARTIAL_FRAMES))
    if offsets[-1] + PARTIAL_FRAMES < n and n - (offsets[-1] + PARTIAL_FRAMES) >= PARTIAL_FRAMES // 2:
        offsets.append(n - PARTIAL_FRAMES)
    return [frames[o: o + PARTIAL_FRAMES] for o in offsets]


def _runs(flags: np.ndarray, times: np.ndarray, half: float, fill_gap: float) -> list[tuple[float, float]]:
    """(start, end) of the True runs of per-frame ``flags`` (frame centres ``times``), gaps <= ``fill_gap`` filled."""
    if not flags.any():
        return []
    padded = np.concatenate(([False], flags, [False]))
    change = np.flatnonzero(padded[1:] != padded[:-1])
    out: list[list[float]] = []
    for on, off in zip(change[::2], change[1::2], strict=True):
        a, b = float(times[on] - half), float(times[off - 1] + half)
        if out and a - out[-1][1] <= fill_gap:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(round(a, 3), round(b, 3)) for a, b in out]


def constrained_agglomerative(
    vectors: np.ndarray, groups: np.ndarray, threshold: float, *, min_clusters: int = 1, max_clusters: int = 8
) -> np.ndarray:
    """Average-linkage agglomerative clustering (cosine distance) of L2-normalised ``vectors`` that never merges
    two clusters holding items of one group (cannot-link: two local speakers of one chunk are two speakers).

    Merges the closest allowed pair while its distance is <= ``threshold`` or there are more than
    ``max_clusters`` clusters, and never below ``min_clusters``; to get down to ``max_clusters`` the closest
    pair is merged even when cannot-linked. Returns labels 0..k-1.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    dist = 1.0 - np.clip(vectors @ vectors.T, -1.0, 1.0)
    groups = np.asarray(groups)
    cannot = groups[:, None] == groups[None, :]
    size = np.ones(n)
    alive = np.ones(n, dtype=bool)
    parent = np.arange(n)
    blocked = cannot.copy()
    np.fill_diagonal(blocked, True)
    masked = np.where(blocked, np.inf, dist)
    k = n
    while k > max(1, min_clusters):
        flat = int(np.argmin(masked))
        i, j = divmod(flat, n)
        best = masked[i, j]
        if not np.isfinite(best):
            if k <= max_clusters:
                break
            # more clusters than allowed and every pair cannot-link: max_speakers wins over the constraint
            free = np.where(alive[:, None] & alive[None, :] & ~np.eye(n, dtype=bool), dist, np.inf)
            flat = int(np.argmin(free))
            i, j = divmod(flat, n)
            best = free[i, j]
        if best > threshold and k <= max_clusters:
            break
        # merge j into i (Lance-Williams update for average linkage)
        dist[i] = (size[i] * dist[i] + size[j] * dist[j]) / (size[i] + size[j])
        dist[:, i] = dist[i]
        size[i] += size[j]
        alive[j] = False
        parent[parent == j] = i
        blocked[i] |= blocked[j]
        blocked[:, i] = blocked[i]
        blocked[j, :] = True
        blocked[:, j] = True
        blocked[i, i] = True
        masked[i] = np.where(blocked[i], np.inf, dist[i])
        masked[:, i] = masked[i]
        masked[j, :] = np.inf
        masked[:, j] = np.inf
        k -= 1
    _, labels = np.unique(parent, return_inverse=True)
    return labels.astype(int)


def _drop_small_clusters(labels: np.ndarray, min_size: int, min_clusters: int) -> np.ndarray:
    """Keep clusters of at least ``min_size`` items (at least ``min_clusters`` of the largest ones), renumbered
    0..k-1 by size; items of the others get -1 (the caller re-assigns them to the kept clusters' centroids)."""
    counts = np.bincount(labels)
    order = np.argsort(-counts, kind="stable")
    keep = [int(j) for j in order if counts[j] >= min_size]
    for j in order:
        if len(keep) >= min_clusters:
            break
        if int(j) not in keep:
            keep.append(int(j))
    keep = keep or [int(order[0])]
    mapping = {old: new for new, old in enumerate(keep)}
    return np.array([mapping.get(int(j), -1) for j in labels], dtype=int)


def constrained_assignment(scores: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Per chunk, the Hungarian assignment of its active local speakers (``hard >= -1``) to clusters maximising
    the ``scores`` (C, S, k): distinct clusters within a chunk; extra speakers (more than k) take their best."""
    from scipy.optimize import linear_sum_assignment

    out = hard.copy()
    for c in range(len(scores)):
        speakers = np.flatnonzero(hard[c] >= -1)
        if len(speakers) == 0:
            continue
        rows, cols = linear_sum_assignment(scores[c, speakers], maximize=True)
        out[c, speakers] = np.argmax(scores[c, speakers], axis=1)
        out[c, speakers[rows]] = cols
    return out
