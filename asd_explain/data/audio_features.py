"""Audio features computed on the fly: log-mel or 13 MFCC, exactly 4 feature frames per video frame.

Alignment (any fps): a track's audio starts at ``timestamps_s[0] - 0.5 / fps`` (store contract). Video frame
``t`` covers ``[timestamps_s[t] - 0.5 / fps, timestamps_s[t] + 0.5 / fps)``; its 4 audio frames ``4t .. 4t+3``
are centred at ``timestamps_s[t] - 0.5 / fps + (j + 0.5) / (4 fps)``, ``j = 0..3``, i.e. a hop of
``16000 / (4 fps)`` samples (160 at 25 fps = 100 Hz, 133.3 at 30 fps), computed from each frame's own time,
so gaps in a track do not shift the audio. The analysis window is ``max(25 ms, hop)`` long (no audio is
skipped at low fps); samples outside the track's audio count as zeros.

* ``logmel``: Hann window, power spectrum (n_fft = next power of two >= window), ``n_mels`` (default 40)
  triangular HTK-mel filters over 0-8 kHz, natural log of (energy + 1e-6).
* ``mfcc``: the field's recipe (as the python_speech_features defaults used by TalkNet/Light-ASD): pre-emphasis
  0.97, rectangular window, 26 filters, log, orthonormal DCT-II, 13 coefficients, sinusoidal lifter 22, and
  coefficient 0 replaced by the log frame energy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import torch

from ..constants import SAMPLE_RATE_HZ

FEATURES = ("logmel", "mfcc")
AUDIO_FRAMES_PER_VIDEO_FRAME = 4
_EPS = 1e-6


@dataclass(frozen=True)
class AudioFeatureConfig:
    kind: str = "logmel"
    n_mels: int = 40
    n_mfcc: int = 13
    mfcc_filters: int = 26
    mfcc_lifter: int = 22
    preemphasis: float = 0.97
    min_window_s: float = 0.025
    sample_rate_hz: int = SAMPLE_RATE_HZ

    def __post_init__(self) -> None:
        if self.kind not in FEATURES:
            raise ValueError(f"audio feature {self.kind!r} unknown (expected one of {', '.join(FEATURES)})")

    @property
    def n_features(self) -> int:
        return self.n_mels if self.kind == "logmel" else self.n_mfcc


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=32)
def mel_filterbank(n_filters: int, n_fft: int, sample_rate_hz: int) -> np.ndarray:
    """``(n_fft // 2 + 1, n_filters) float32`` triangular filters, evenly spaced on the HTK mel scale."""
    edges_hz = mel_to_hz(np.linspace(0.0, hz_to_mel(sample_rate_hz / 2), n_filters + 2))
    bins_hz = np.arange(n_fft // 2 + 1) * sample_rate_hz / n_fft
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    return np.ascontiguousarray(np.clip(np.minimum(rising, falling), 0.0, None).T, dtype=np.float32)


@lru_cache(maxsize=8)
def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II, ``(n_in, n_out)``."""
    k = np.arange(n_out)[None, :]
    n = np.arange(n_in)[:, None]
    matrix = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    matrix[:, 0] /= np.sqrt(2.0)
    return matrix.astype(np.float32)


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float32 product through torch (one thread in DataLoader workers; numpy's BLAS may start one thread per
    core in every worker and run ~20x slower on a busy machine)."""
    return (torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) @ torch.from_numpy(b)).numpy()


def feature_frame_centres(timestamps_s: np.ndarray, fps: float) -> np.ndarray:
    """``(4T,)`` centre of each audio feature frame, in seconds from the track's audio sample 0."""
    ts = np.asarray(timestamps_s, dtype=np.float64)
    offsets = (np.arange(AUDIO_FRAMES_PER_VIDEO_FRAME) + 0.5) / (AUDIO_FRAMES_PER_VIDEO_FRAME * fps)
    return ((ts - ts[0])[:, None] + offsets[None, :]).reshape(-1)


def centred_windows(audio: np.ndarray, centres_s: np.ndarray, window: int, sample_rate_hz: int) -> np.ndarray:
    """``(len(centres), window)`` samples centred at each time (zeros outside the audio)."""
    starts = np.round(centres_s * sample_rate_hz).astype(np.int64) - window // 2
    left = max(0, -int(starts.min()))
    right = max(0, int(starts.max()) + window - len(audio))
    padded = np.concatenate([np.zeros(left, np.float32), audio, np.zeros(right, np.float32)]) \
        if left or right else audio
    return padded[(starts + left)[:, None] + np.arange(window)[None, :]]


def audio_features(audio: np.ndarray, timestamps_s: np.ndarray, fps: float,
                   config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """Track audio ``(N,)`` (int16 or float in [-1, 1]) -> features ``(4T, F) float32`` (see module doc)."""
    signal = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
    sr = config.sample_rate_hz
    hop_s = 1.0 / (AUDIO_FRAMES_PER_VIDEO_FRAME * fps)
    window = int(round(max(config.min_window_s, hop_s) * sr))
    n_fft = 1 << max(window - 1, 1).bit_length()
    if config.kind == "mfcc" and config.preemphasis:
        signal = np.append(signal[:1], signal[1:] - config.preemphasis * signal[:-1])
    frames = centred_windows(signal, feature_frame_centres(timestamps_s, fps), window, sr)
    if config.kind == "logmel":
        frames = frames * np.hanning(window + 2)[1:-1].astype(np.float32)
    spectrum = scipy.fft.rfft(frames, n=n_fft, axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2) / np.float32(n_fft)
    if config.kind == "logmel":
        return np.log(_matmul(power, mel_filterbank(config.n_mels, n_fft, sr)) + _EPS)
    energies = np.log(_matmul(power, mel_filterbank(config.mfcc_filters, n_fft, sr)) + _EPS)
    cepstra = _matmul(energies, _dct_matrix(config.mfcc_filters, config.n_mfcc))
    lifter = 1.0 + (config.mfcc_lifter / 2.0) * np.sin(np.pi * np.arange(config.n_mfcc) / config.mfcc_lifter)
    cepstra = cepstra * lifter.astype(np.float32)
    cepstra[:, 0] = np.log(power.sum(axis=1) + _EPS)
    return cepstra.astype(np.float32)
