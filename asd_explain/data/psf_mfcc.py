"""MFCC equal to ``python_speech_features.mfcc(signal, 16000, numcep=13, winlen=0.025, winstep=0.010)``.

These are the features the published AVA-trained Light-ASD / LR-ASD (and TalkNet) were trained on; the
package itself is not needed at run time (a test compares both on real speech to 1e-4).

Recipe (python_speech_features 0.6 defaults), for a signal of ``N`` samples at 16 kHz:

* pre-emphasis ``y[0] = x[0]``, ``y[n] = x[n] - 0.97 x[n-1]`` on the whole signal;
* frames of 400 samples every 160 (25 ms / 10 ms), ``F = 1 + ceil((N - 400) / 160)`` frames (1 when
  ``N <= 400``), the last ones zero-padded at the end; no window (rectangular);
* power spectrum ``|rfft(frame, 512)|^2 / 512`` (257 bins); frame energy = its sum;
* 26 triangular filters whose edges are the FFT bins ``floor(513 * mel_to_hz(m) / 16000)`` of 28 points
  evenly spaced in mel (``2595 log10(1 + f / 700)``) over 0 - 8000 Hz;
* zeros replaced by float64 eps, natural log, orthonormal DCT-II, first 13 coefficients, lifter
  ``1 + 11 sin(pi k / 22)``; coefficient 0 replaced by the log frame energy.

The authors feed 16-bit PCM sample values (``scipy.io.wavfile.read`` of an ffmpeg ``pcm_s16le`` wav), so
give samples on the int16 scale: floats in [-1, 1] only move coefficient 0 (by ``-2 log 32768``), since a
gain adds a constant to every log filter energy and the orthonormal DCT puts a constant into coefficient 0.

``psf_mfcc(samples (N,)) -> (F, 13)`` float64 (numpy); ``psf_mfcc_torch(samples (B, N)) -> (B, F, 13)``
(torch, batched, any device, float64 by default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..constants import SAMPLE_RATE_HZ

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class PsfMfccConfig:
    """python_speech_features' ``mfcc`` arguments as the authors call it (``winlen``/``winstep`` in s)."""

    sample_rate_hz: int = SAMPLE_RATE_HZ
    window_s: float = 0.025
    hop_s: float = 0.010
    n_ceps: int = 13
    n_filters: int = 26
    n_fft: int = 512
    preemphasis: float = 0.97
    lifter: int = 22

    @property
    def window_samples(self) -> int:
        return _round_half_up(self.window_s * self.sample_rate_hz)

    @property
    def hop_samples(self) -> int:
        return _round_half_up(self.hop_s * self.sample_rate_hz)


AUTHORS_MFCC = PsfMfccConfig()


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5 + 1e-9))


def psf_frame_count(n_samples: int, config: PsfMfccConfig = AUTHORS_MFCC) -> int:
    """Number of MFCC frames python_speech_features makes from ``n_samples`` (199 for 2 s at 16 kHz)."""
    window, hop = config.window_samples, config.hop_samples
    if n_samples <= window:
        return 1
    return 1 + int(math.ceil((n_samples - window) / hop))


@lru_cache(maxsize=8)
def psf_filterbank(n_filters: int = 26, n_fft: int = 512, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """``(n_filters, n_fft // 2 + 1)`` triangular mel filters on FFT bins, edges rounded down to a bin."""
    top_mel = 2595.0 * np.log10(1.0 + (sample_rate_hz / 2) / 700.0)
    mels = np.linspace(0.0, top_mel, n_filters + 2)
    edges = np.floor((n_fft + 1) * (700.0 * (10.0 ** (mels / 2595.0) - 1.0)) / sample_rate_hz)
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64)[None, :]
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((bins >= left) & (bins < centre), (bins - left) / (centre - left), 0.0)
        falling = np.where((bins >= centre) & (bins < right), (right - bins) / (right - centre), 0.0)
    return rising + falling


@lru_cache(maxsize=8)
def _dct_lifter(n_filters: int, n_ceps: int, lifter: int) -> np.ndarray:
    """``(n_filters, n_ceps)``: orthonormal DCT-II columns times the sinusoidal lifter."""
    n = np.arange(n_filters, dtype=np.float64)[:, None]
    k = np.arange(n_ceps, dtype=np.float64)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_filters)) * np.sqrt(2.0 / n_filters)
    basis[:, 0] = np.sqrt(1.0 / n_filters)
    if lifter > 0:
        basis = basis * (1.0 + (lifter / 2.0) * np.sin(np.pi * k / lifter))
    return basis


def psf_mfcc(samples: np.ndarray, config: PsfMfccConfig = AUTHORS_MFCC) -> np.ndarray:
    """``(N,)`` samples (int16 scale) -> ``(F, n_ceps)`` float64 MFCC, ``F = psf_frame_count(N)``."""
    signal = np.asarray(samples, dtype=np.float64).reshape(-1)
    return psf_mfcc_torch(torch.from_numpy(signal)[None], config)[0].numpy()


def psf_mfcc_torch(samples: torch.Tensor, config: PsfMfccConfig = AUTHORS_MFCC,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``(B, N)`` signals of equal length (int16 scale) -> ``(B, F, n_ceps)`` MFCC in ``dtype``."""
    if samples.ndim != 2:
        raise ValueError(f"expected (B, N) samples, got shape {tuple(samples.shape)}")
    x = samples.to(dtype)
    emphasised = torch.cat([x[:, :1], x[:, 1:] - config.preemphasis * x[:, :-1]], dim=1)
    window, hop = config.window_samples, config.hop_samples
    n_frames = psf_frame_count(x.shape[1], config)
    padded_len = (n_frames - 1) * hop + window
    emphasised = torch.nn.functional.pad(emphasised, (0, max(0, padded_len - x.shape[1])))
    frames = emphasised[:, :padded_len].unfold(1, window, hop)  # (B, F, window)
    power = torch.fft.rfft(frames, n=config.n_fft).abs().square() / config.n_fft
    energy = power.sum(-1)
    bank = torch.as_tensor(psf_filterbank(config.n_filters, config.n_fft, config.sample_rate_hz),
                           dtype=dtype, device=x.device)
    filtered = power @ bank.T
    filtered = torch.where(filtered == 0, torch.full_like(filtered, _EPS), filtered)
    energy = torch.where(energy == 0, torch.full_like(energy, _EPS), energy)
    basis = torch.as_tensor(_dct_lifter(config.n_filters, config.n_ceps, config.lifter), dtype=dtype,
                            device=x.device)
    ceps = filtered.log() @ basis
    return torch.cat([energy.log()[..., None], ceps[..., 1:]], dim=-1)
