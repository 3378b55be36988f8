"""Offline speaker diarization on the Resemblyzer speaker encoder shipped in the ``resemblyzer`` wheel.

Production diarizes with pyannote (``whisperx.diarize.DiarizationPipeline``), which needs gated Hugging
Face weights. This module is the offline stand-in: nothing is downloaded, the only model is Resemblyzer's
``pretrained.pt`` (a 3-layer LSTM d-vector encoder, 256-d, L2-normalised, trained on speaker verification).

Pipeline (:meth:`WindowEmbeddingDiarizer.diarize`):

1. **Speech regions** – given by the caller (e.g. WhisperX VAD/transcript segments), or detected with
   WebRTC VAD (the ``webrtcvad`` package Resemblyzer depends on) on 30 ms frames, gaps shorter than
   ``0.3 s`` bridged and regions shorter than ``0.2 s`` dropped. Timestamps stay on the input timeline
   (Resemblyzer's own ``preprocess_wav`` trims silences and would shift it, so it is not used).
2. **Window embeddings** – each region is covered by ``window_s`` windows every ``hop_s`` seconds (the last
   one aligned to the region end; a region shorter than a window gets one window centred on it). Each
   window is turned into Resemblyzer's 40-band mel spectrogram and embedded in batches.
3. **Clustering** – spectral clustering of the windows' pruned cosine affinity gives a candidate
   partition for every k; the speaker count is the largest k (tried upwards from 2) whose clusters are all
   pairwise *significantly* apart: centroid cosine distance ``d >= min_distance`` and
   ``d * sqrt(n1 n2 / (n1 + n2)) >= threshold`` (n = a cluster's size in non-overlapping windows), then
   clamped to ``[min_speakers, max_speakers]``. Windows mostly made of non-speech (short regions padded
   with context) do not vote on the clustering; they take the label of the nearest cluster centroid.
4. **Turns** – every 10 ms speech frame takes the label with the highest (centre-weighted) vote of the
   windows covering it; islands shorter than ``min_turn_s`` that touch another speaker are relabelled to
   the neighbour, and same-speaker neighbours closer than ``merge_gap_s`` are merged.

Cost: embedding is linear in speech duration (one LSTM pass per window, ~1 s of CPU per minute of
speech on 2 cores); clustering is O(n²) in the number of windows (655 for the 10-minute benchmark input:
~0.1 s). Memory: the audio, one batch of windows, the n×256 embeddings and a few n×n matrices (3 MB each
at n = 650); above ``max_cluster_windows`` windows an evenly spaced subset is clustered, so the n×n part
stays bounded on long inputs. See ``benchmarks/quality_diarization.py``.

Calibration caveat: ``threshold``, ``min_distance`` and ``pruning`` were set on pyannote's 30 s
two-speaker telephone sample (two similar female voices): its 2-way split has centroid distance 0.11 and
separation score 0.21, the spurious 3-way split 0.095 and 0.15, single-voice excerpts score <= 0.10.
Resemblyzer separates similar voices only modestly, so pass ``min_speakers``/``max_speakers`` when the
count is known; noisy audio (e.g. white noise at 20 dB SNR) tends to gain a spurious extra speaker.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vidassets.media.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import pandas as pd

MODEL_NAME = "resemblyzer-window-embeddings"
CLUSTERING_NAME = "pruned-spectral+significance-count"

_VAD_FRAME_S = 0.03
_GRID_S = 0.01

_ENCODERS: dict[str, Any] = {}
_ENCODERS_LOCK = threading.Lock()


def check_speaker_bounds(min_speakers: int | None, max_speakers: int | None) -> None:
    """ValueError for a speaker-count range no diarizer can honour."""
    if min_speakers is not None and min_speakers < 1:
        raise ValueError("min_speakers must be >= 1")
    if max_speakers is not None and max_speakers < 1:
        raise ValueError("max_speakers must be >= 1")
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise ValueError("min_speakers must be <= max_speakers")


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class DiarizationRun:
    """Everything one :meth:`WindowEmbeddingDiarizer.run` produced."""

    turns: list[SpeakerTurn]
    speech_regions: list[tuple[float, float]]
    windows: np.ndarray  # (n, 2) start/end seconds
    embeddings: np.ndarray  # (n, 256) L2-normalised
    labels: np.ndarray  # (n,) cluster id per window
    timings: dict[str, float]  # seconds per stage: speech, embed, cluster, turns

    @property
    def n_speakers(self) -> int:
        return len({t.speaker for t in self.turns})


def _import_resemblyzer():
    # resemblyzer imports webrtcvad (pkg_resources warning) and scipy.ndimage.morphology (deprecated path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import resemblyzer
        from resemblyzer import audio as rz_audio
        from resemblyzer import hparams
    return resemblyzer, rz_audio, hparams


def load_encoder(device: str = "cpu"):
    """The Resemblyzer ``VoiceEncoder`` for ``device``, loaded once per process (thread-safe)."""
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(device)
        if encoder is None:
            resemblyzer, _, hparams = _import_resemblyzer()
            encoder = resemblyzer.VoiceEncoder(device, verbose=False)
            encoder.eval()
            # warm-up: librosa's lazily imported feature module and torch's first LSTM call cost seconds
            noise = np.random.default_rng(0).standard_normal((1, SAMPLE_RATE)).astype(np.float32) * 0.01
            _embed_mels(encoder, _mel_batch(noise, hparams))
            _ENCODERS[device] = encoder
        return encoder


def _mel_batch(wavs: np.ndarray, hparams) -> np.ndarray:
    """``resemblyzer.audio.wav_to_mel_spectrogram`` of a (batch, samples) array: (batch, frames, 40)."""
    import librosa

    mels = librosa.feature.melspectrogram(
        y=wavs,
        sr=hparams.sampling_rate,
        n_fft=int(hparams.sampling_rate * hparams.mel_window_length / 1000),
        hop_length=int(hparams.sampling_rate * hparams.mel_window_step / 1000),
        n_mels=hparams.mel_n_channels,
    )
    return np.ascontiguousarray(mels.astype(np.float32).transpose(0, 2, 1))


def _embed_mels(encoder, mels: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return encoder(torch.from_numpy(mels).to(encoder.device)).cpu().numpy()


def _merge_regions(regions: list[tuple[float, float]], max_gap: float = 0.0) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(regions):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def detect_speech(
    audio: np.ndarray,
    *,
    aggressiveness: int = 2,
    bridge_gap_s: float = 0.3,
    min_region_s: float = 0.2,
) -> list[tuple[float, float]]:
    """Speech regions (seconds) of 16 kHz float mono ``audio`` with WebRTC VAD on 30 ms frames."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import webrtcvad

    frame = int(SAMPLE_RATE * _VAD_FRAME_S)
    n_frames = len(audio) // frame
    if n_frames == 0:
        return []
    peak = float(np.max(np.abs(audio)))
    if peak < 1e-4:  # digital silence / near-silence: nothing to diarize
        return []
    vad = webrtcvad.Vad(aggressiveness)
    flags = np.zeros(n_frames, dtype=bool)
    block = 2000  # frames (60 s) converted to 16-bit PCM at a time
    for first in range(0, n_frames, block):
        count = min(block, n_frames - first)
        piece = audio[first * frame : (first + count) * frame]
        pcm = (np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        for i in range(count):
            flags[first + i] = vad.is_speech(pcm[i * frame * 2 : (i + 1) * frame * 2], SAMPLE_RATE)
    regions: list[tuple[float, float]] = []
    padded = np.concatenate(([False], flags, [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    for on, off in zip(changes[::2], changes[1::2], strict=True):
        regions.append((on * _VAD_FRAME_S, off * _VAD_FRAME_S))
    regions = _merge_regions(regions, max_gap=bridge_gap_s)
    return [(a, b) for a, b in regions if b - a >= min_region_s]


class WindowEmbeddingDiarizer:
    """Speaker diarization from Resemblyzer embeddings of overlapping speech windows.

    Method (details in the module docstring and :meth:`cluster`): WebRTC-VAD (or caller-given) speech
    regions → ``window_s`` windows every ``hop_s`` s → Resemblyzer d-vectors → spectral clustering of the
    pruned cosine affinity, speaker count = largest k whose clusters are pairwise significantly apart
    (``threshold``, ``min_distance``), clamped to ``[min_speakers, max_speakers]`` → centre-weighted
    window voting on a 10 ms grid → island removal and same-speaker merging into sorted turns.

    Tuning: lower ``threshold``/``min_distance`` → more speakers. ``max_cluster_windows`` bounds the
    clustering cost of long inputs (an evenly spaced subset is clustered, the rest joins the nearest
    centroid). The encoder is loaded once per process and device (:func:`load_encoder`).
    """

    def __init__(
        self,
        *,
        device: str = "cpu",
        window_s: float = 1.5,
        hop_s: float = 0.75,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        threshold: float = 0.17,
        min_distance: float = 0.1,
        pruning: float = 0.2,
        max_auto_speakers: int = 8,
        min_turn_s: float = 0.5,
        merge_gap_s: float = 0.3,
        vad_aggressiveness: int = 2,
        bridge_gap_s: float = 0.3,
        min_window_speech: float = 0.5,
        max_cluster_windows: int = 2000,
        batch_size: int = 64,
    ):
        if window_s <= 0 or hop_s <= 0:
            raise ValueError("window_s and hop_s must be > 0")
        check_speaker_bounds(min_speakers, max_speakers)
        self.device = device
        self.window_s = float(window_s)
        self.hop_s = float(hop_s)
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        self.threshold = float(threshold)
        self.min_distance = float(min_distance)
        self.pruning = float(pruning)
        self.max_auto_speakers = int(max_auto_speakers)
        self.min_turn_s = float(min_turn_s)
        self.merge_gap_s = float(merge_gap_s)
        self.vad_aggressiveness = int(vad_aggressiveness)
        self.bridge_gap_s = float(bridge_gap_s)
        self.min_window_speech = float(min_window_speech)
        self.max_cluster_windows = int(max_cluster_windows)
        self.batch_size = int(batch_size)
        self.encoder = load_encoder(device)

    # ------------------------------------------------------------------ provenance
    NAME = f"{MODEL_NAME}+{CLUSTERING_NAME}"

    @property
    def name(self) -> str:
        return self.NAME

    @property
    def method(self) -> str:
        """``name`` with the parameters that shape the output, for provenance records."""
        from importlib.metadata import version

        return (
            f"{self.name}(resemblyzer={version('resemblyzer')} pretrained.pt, window={self.window_s}s, "
            f"hop={self.hop_s}s, pruning={self.pruning}, threshold={self.threshold}, "
            f"min_distance={self.min_distance}, min_speakers={self.min_speakers}, "
            f"max_speakers={self.max_speakers}, min_turn={self.min_turn_s}s, merge_gap={self.merge_gap_s}s, "
            f"vad=webrtcvad({self.vad_aggressiveness}) unless regions given)"
        )

    # ------------------------------------------------------------------ public API
    def diarize(
        self, audio: np.ndarray, speech_regions: list[tuple[float, float]] | None = None
    ) -> list[SpeakerTurn]:
        """Speaker turns of ``audio`` (float32 mono 16 kHz), sorted by start time.

        ``speech_regions`` (seconds), when given, replace the built-in VAD. Returns ``[]`` for empty or
        silent audio.
        """
        return self.run(audio, speech_regions).turns

    def run(
        self, audio: np.ndarray, speech_regions: list[tuple[float, float]] | None = None
    ) -> DiarizationRun:
        """:meth:`diarize` with its intermediate results and per-stage timings (for benchmarks/debugging)."""
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = now - clock
            clock = now

        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"expected mono audio (1-D array), got shape {audio.shape}")
        duration = len(audio) / SAMPLE_RATE
        empty = DiarizationRun(
            [], [], np.zeros((0, 2)), np.zeros((0, 256), np.float32), np.zeros(0, int), timings
        )
        if duration == 0 or not np.any(audio):
            return empty
        if speech_regions is None:
            regions = detect_speech(
                audio, aggressiveness=self.vad_aggressiveness, bridge_gap_s=self.bridge_gap_s
            )
        else:
            # transcript segments are word-tight: bridge short pauses like the VAD does, so that windows
            # tile whole stretches of speech instead of centring on sub-second fragments
            clipped = [(max(0.0, float(a)), min(duration, float(b))) for a, b in speech_regions]
            regions = _merge_regions([(a, b) for a, b in clipped if b - a > 1e-3], max_gap=self.bridge_gap_s)
        lap("speech")
        if not regions:
            return empty

        windows, region_of = self.plan_windows(regions, duration)
        embeddings = self.embed_windows(audio, windows, regions)
        lap("embed")
        # windows that are mostly non-speech (short regions padded with context) embed poorly: cluster
        # the well-covered ones (an evenly spaced subset of them on very long inputs), then give the
        # others the label of their most similar cluster centroid
        fit = np.flatnonzero(_speech_coverage(windows, regions) >= self.min_window_speech)
        if len(fit) < 2:
            fit = np.arange(len(windows))
        stride = max(1, int(np.ceil(len(fit) / self.max_cluster_windows)))
        fit = fit[::stride]
        labels = np.zeros(len(windows), dtype=int)
        labels[fit] = self.cluster(embeddings[fit], hop_s=self.hop_s * stride)
        rest = np.setdiff1d(np.arange(len(windows)), fit)
        if len(rest):
            cents = _centroids(embeddings[fit], labels[fit], int(labels[fit].max()) + 1)
            labels[rest] = np.argmax(embeddings[rest] @ cents.T, axis=1)
        lap("cluster")
        turns = self._turns(self._frame_labels(regions, windows, region_of, labels))
        lap("turns")
        return DiarizationRun(turns, regions, windows, embeddings, labels, timings)

    def embed_windows(
        self,
        audio: np.ndarray,
        windows: np.ndarray,
        speech_regions: list[tuple[float, float]] | None = None,
    ) -> np.ndarray:
        """L2-normalised Resemblyzer embeddings (n, 256) of ``windows`` ((n, 2) start/end seconds).

        The audio is first brought up to Resemblyzer's loudness (-30 dBFS, increase only), measured on
        ``speech_regions`` when given so that long silences do not inflate the gain.
        """
        _, _, hparams = _import_resemblyzer()
        n_win = int(round(self.window_s * SAMPLE_RATE))
        spans = [(int(a * SAMPLE_RATE), int(np.ceil(b * SAMPLE_RATE))) for a, b in speech_regions or []]
        spans = spans or [(0, len(audio))]
        energy = sum(float(np.dot(audio[a:b], audio[a:b])) for a, b in spans)  # no full-length temporaries
        n_samples = sum(len(audio[a:b]) for a, b in spans)
        gain = np.float32(1.0)
        if energy > 0 and n_samples:
            rms = np.sqrt(energy / n_samples)
            gain = np.float32(max(1.0, 10 ** ((hparams.audio_norm_target_dBFS - 20 * np.log10(rms)) / 20)))
        out = np.empty((len(windows), hparams.model_embedding_size), dtype=np.float32)
        for first in range(0, len(windows), self.batch_size):
            batch = windows[first : first + self.batch_size]
            chunk = np.zeros((len(batch), n_win), dtype=np.float32)
            for i, (start, _end) in enumerate(batch):
                s = int(round(start * SAMPLE_RATE))
                piece = audio[max(0, s) : s + n_win]
                chunk[i, : len(piece)] = piece
            chunk *= gain
            mels = _mel_batch(chunk, hparams)
            out[first : first + len(batch)] = _embed_mels(self.encoder, mels)
        # windows of pure digital silence give NaN (0/0); treat them as undefined direction
        out = np.nan_to_num(out)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-8)

    def cluster(self, embeddings: np.ndarray, *, hop_s: float | None = None) -> np.ndarray:
        """Cluster ids (0..k-1) for L2-normalised ``embeddings``, automatic count within the bounds.

        ``hop_s`` is the time step between the embedded windows (default: ``self.hop_s``).

        Candidate partitions for k = 2, 3, … come from spectral clustering of the pruned cosine affinity
        (each row keeps its ``pruning`` fraction of nearest neighbours; symmetric normalised Laplacian;
        k-means on the row-normalised first k eigenvectors). k is increased while every pair of clusters
        in the k-partition is *significantly* apart: cosine distance between the two cluster centroids
        ``d >= min_distance`` and ``d * sqrt(n1 * n2 / (n1 + n2)) >= threshold``, where n1, n2 are the
        cluster sizes in non-overlapping windows (window count × min(1, hop_s/window_s)). The size factor
        is a standard-error correction: centroids of a few noisy windows of *one* voice can sit as far
        apart as two similar voices, so a short excerpt needs a larger gap than a 30 s conversation;
        ``min_distance`` keeps long recordings from splitting one voice into sub-clusters. The automatic
        k never exceeds ``max_auto_speakers`` and is clamped to ``[min_speakers, max_speakers]``.
        """
        n = len(embeddings)
        if n == 0:
            return np.zeros(0, dtype=int)
        lo = min(self.min_speakers or 1, n)
        hi = min(self.max_speakers or self.max_auto_speakers, n)
        hi = max(hi, lo)
        if hi == 1:
            return np.zeros(n, dtype=int)
        vectors = _spectral_vectors(embeddings, self.pruning, hi)
        # each window adds min(1, hop/window) non-overlapping windows' worth of evidence
        weight = min(1.0, (hop_s or self.hop_s) / self.window_s)
        chosen = np.zeros(n, dtype=int)
        for k in range(2, hi + 1):
            labels = _kmeans_rows(vectors[:, :k], k)
            if k <= lo:
                chosen = labels
                continue
            if not self._separated(embeddings, labels, weight):
                break
            chosen = labels
        return chosen

    def plan_windows(
        self, regions: list[tuple[float, float]], duration: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) window spans in seconds and the region index of each window."""
        spans: list[tuple[float, float]] = []
        owner: list[int] = []
        w, h = self.window_s, self.hop_s
        for r, (a, b) in enumerate(regions):
            if b - a <= w:
                centre = (a + b) / 2
                start = min(max(0.0, centre - w / 2), max(0.0, duration - w))
                starts = [start]
            else:
                n_steps = int(np.floor((b - a - w) / h + 1e-9))
                starts = [a + i * h for i in range(n_steps + 1)]
                if b - (starts[-1] + w) > 1e-3:
                    starts.append(b - w)
            for s in starts:
                spans.append((s, s + w))
                owner.append(r)
        return np.asarray(spans, dtype=np.float64).reshape(-1, 2), np.asarray(owner, dtype=int)

    # ------------------------------------------------------------------ internals
    def _separated(self, emb: np.ndarray, labels: np.ndarray, weight: float) -> bool:
        k = int(labels.max()) + 1
        if k < 2 or len(np.unique(labels)) < k:
            return False
        cents = _centroids(emb, labels, k)
        dist = 1.0 - cents @ cents.T
        sizes = np.bincount(labels, minlength=k) * weight
        harmonic = sizes[:, None] * sizes[None, :] / (sizes[:, None] + sizes[None, :])
        score = dist * np.sqrt(harmonic)
        off = ~np.eye(k, dtype=bool)
        return bool(np.all(dist[off] >= self.min_distance) and np.all(score[off] >= self.threshold))

    def _frame_labels(
        self,
        regions: list[tuple[float, float]],
        windows: np.ndarray,
        region_of: np.ndarray,
        labels: np.ndarray,
    ) -> list[tuple[float, float, np.ndarray]]:
        """Per region: (start, frame step, cluster id per ~10 ms frame) from centre-weighted window votes."""
        k = int(labels.max()) + 1
        out: list[tuple[float, float, np.ndarray]] = []
        # windows are planned region by region, so each region owns a contiguous block of them
        first = np.searchsorted(region_of, np.arange(len(regions) + 1))
        for r, (a, b) in enumerate(regions):
            owned = np.arange(first[r], first[r + 1])
            n = max(1, int(round((b - a) / _GRID_S)))
            centres = a + (np.arange(n) + 0.5) * ((b - a) / n)
            votes = np.zeros((n, k), dtype=np.float64)
            for wi in owned:
                ws, we = windows[wi]
                mid, half = (ws + we) / 2, (we - ws) / 2
                weight = 1.0 - np.abs(centres - mid) / half
                inside = weight > 0
                # a region shorter than its window: the window covers all of it
                votes[inside, labels[wi]] += weight[inside] + 1e-3
            uncovered = votes.sum(axis=1) == 0
            if uncovered.any():  # cannot happen with the tiling above; nearest window as a fallback
                mids = windows[owned].mean(axis=1)
                nearest = owned[np.argmin(np.abs(centres[uncovered, None] - mids[None, :]), axis=1)]
                votes[uncovered, labels[nearest]] = 1.0
            out.append((a, (b - a) / n, np.argmax(votes, axis=1)))
        return out

    def _turns(self, frame_labels: list[tuple[float, float, np.ndarray]]) -> list[SpeakerTurn]:
        # runs of identical labels inside each region: [start, end, cluster]
        runs: list[list[float]] = []
        for a, step, lab in frame_labels:
            change = np.flatnonzero(np.diff(lab)) + 1
            bounds = np.concatenate(([0], change, [len(lab)]))
            for i0, i1 in zip(bounds[:-1], bounds[1:], strict=True):
                runs.append([a + i0 * step, a + i1 * step, int(lab[i0])])
        runs.sort()
        # relabel short islands that touch (within merge_gap_s) a turn of another speaker
        changed = True
        while changed and len(runs) > 1:
            changed = False
            order = sorted(range(len(runs)), key=lambda i: runs[i][1] - runs[i][0])
            for i in order:
                start, end, lab = runs[i]
                if end - start >= self.min_turn_s:
                    break
                neighbours = []
                if i > 0 and start - runs[i - 1][1] <= self.merge_gap_s and runs[i - 1][2] != lab:
                    neighbours.append(runs[i - 1])
                if i + 1 < len(runs) and runs[i + 1][0] - end <= self.merge_gap_s and runs[i + 1][2] != lab:
                    neighbours.append(runs[i + 1])
                if neighbours:
                    runs[i][2] = max(neighbours, key=lambda r: r[1] - r[0])[2]
                    # the island joins that neighbour (within merge_gap_s): one run fewer, so this ends
                    runs = _merge_runs(runs, self.merge_gap_s)
                    changed = True
                    break
        runs = _merge_runs(runs, self.merge_gap_s)
        names: dict[int, str] = {}
        turns = []
        for start, end, lab in runs:
            name = names.setdefault(int(lab), f"SPEAKER_{len(names):02d}")
            turns.append(SpeakerTurn(start=round(float(start), 3), end=round(float(end), 3), speaker=name))
        return turns


def _merge_runs(runs: list[list[float]], max_gap: float) -> list[list[float]]:
    merged: list[list[float]] = []
    for run in runs:
        if merged and merged[-1][2] == run[2] and run[0] - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], run[1])
        else:
            merged.append(list(run))
    return merged


def _spectral_vectors(emb: np.ndarray, pruning: float, k_max: int) -> np.ndarray:
    """First ``k_max`` eigenvectors (smallest eigenvalues) of the normalised Laplacian of the pruned
    cosine affinity of ``emb``."""
    from scipy.linalg import eigh

    n = len(emb)
    sim = np.clip(emb @ emb.T, 0.0, None)
    keep = min(n, max(2, int(np.ceil(pruning * n))))
    kth = -np.partition(-sim, keep - 1, axis=1)[:, keep - 1 : keep]
    aff = np.where(sim >= kth, sim, 0.0)
    aff = (aff + aff.T) / 2
    inv_sqrt = 1.0 / np.sqrt(np.maximum(aff.sum(axis=1), 1e-12))
    lap = np.eye(n) - inv_sqrt[:, None] * aff * inv_sqrt[None, :]
    _, vectors = eigh(lap, subset_by_index=[0, min(k_max, n) - 1])
    return vectors


def _kmeans_rows(vectors: np.ndarray, k: int, *, restarts: int = 5, seed: int = 0) -> np.ndarray:
    """k-means (best of ``restarts`` k-means++ runs, deterministic) on row-normalised ``vectors``."""
    from scipy.cluster.vq import kmeans2

    if k == 1:
        return np.zeros(len(vectors), dtype=int)
    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed)
    best_inertia, best = np.inf, np.zeros(len(x), dtype=int)
    for _ in range(restarts):
        with warnings.catch_warnings():  # "one of the clusters is empty" on degenerate inputs
            warnings.simplefilter("ignore")
            centres, labels = kmeans2(x, k, minit="++", seed=rng)
        inertia = float(((x - centres[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_inertia, best = inertia, labels
    return _relabel_dense(best)


def _speech_coverage(windows: np.ndarray, regions: list[tuple[float, float]]) -> np.ndarray:
    """Fraction of each window (n, 2) covered by the (sorted, disjoint) speech regions."""
    reg = np.asarray(regions, dtype=np.float64).reshape(-1, 2)
    # cumulative speech time S(t) is piecewise linear through the region boundaries
    knots = reg.reshape(-1)
    lengths = reg[:, 1] - reg[:, 0]
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    values = np.stack([cumulative[:-1], cumulative[1:]], axis=1).reshape(-1)
    covered = np.interp(windows[:, 1], knots, values) - np.interp(windows[:, 0], knots, values)
    return covered / np.maximum(windows[:, 1] - windows[:, 0], 1e-9)


def _relabel_dense(labels: np.ndarray) -> np.ndarray:
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(int)


def _centroids(emb: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    cents = np.zeros((k, emb.shape[1]), dtype=np.float64)
    np.add.at(cents, labels, emb)
    norms = np.linalg.norm(cents, axis=1, keepdims=True)
    return cents / np.maximum(norms, 1e-8)


def to_whisperx_frame(turns: list[SpeakerTurn]) -> pd.DataFrame:
    """Turns as the DataFrame ``whisperx.assign_word_speakers(diarize_df, result)`` reads.

    whisperx 3.8.6 only reads the ``start``, ``end`` and ``speaker`` columns (``row['start']`` …).
    """
    import pandas as pd

    return pd.DataFrame(
        {
            "start": [float(t.start) for t in turns],
            "end": [float(t.end) for t in turns],
            "speaker": [t.speaker for t in turns],
        },
        columns=["start", "end", "speaker"],
    )
