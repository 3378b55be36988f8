"""Resemblyzer's speaker encoder (the `pretrained.pt` shipped in the `resemblyzer` wheel): d-vectors of mel frames.

A 3-layer LSTM d-vector encoder, 256-d, L2-normalised, trained on speaker verification; the offline diarizer
(`diarization_segmentation`) embeds every (chunk, local speaker) with it. Nothing is downloaded.
"""

import threading
import warnings
from types import ModuleType
from typing import Any

import numpy as np

from vidassets.media.audio import SAMPLE_RATE

_ENCODERS: dict[str, Any] = {}
_ENCODERS_LOCK = threading.Lock()


def resemblyzer_hparams() -> ModuleType:
    """`resemblyzer.hparams` (mel settings, embedding size), imported quietly."""
    # resemblyzer imports webrtcvad (pkg_resources warning) and scipy.ndimage.morphology (deprecated path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import hparams
    return hparams


def load_encoder(device: str = "cpu") -> Any:
    """The Resemblyzer ``VoiceEncoder`` for ``device``, loaded once per process (thread-safe)."""
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(device)
        if encoder is None:
            hparams = resemblyzer_hparams()
            from resemblyzer import VoiceEncoder

            encoder = VoiceEncoder(device, verbose=False)
            encoder.eval()
            # warm-up: librosa's lazily imported feature module and torch's first LSTM call cost seconds
            noise = np.random.default_rng(0).standard_normal((1, SAMPLE_RATE)).astype(np.float32) * 0.01
            embed_mels(encoder, mel_batch(noise, hparams))
            _ENCODERS[device] = encoder
        return encoder


def mel_batch(wavs: np.ndarray, hparams: ModuleType) -> np.ndarray:
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


def embed_mels(encoder: Any, mels: np.ndarray) -> np.ndarray:
    """(batch, 256) embeddings of (batch, frames, 40) mel frames."""
    import torch

    with torch.inference_mode():
        return encoder(torch.from_numpy(mels).to(encoder.device)).cpu().numpy()
