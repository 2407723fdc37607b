"""Audio features computed on the fly: log-mel or 13 MFCC, exactly 4 feature frames per video frame.

Alignment (any fps): a track's audio starts at ``timestamps_s[0] - 0.5 / fps`` (store contract). Video frame
``t`` covers ``[timestamps_s[t] - 0.5 / fps, timestamps_s[t] + 0.5 / fps)``; its 4 audio frames ``4t .. 4t+3``
are centred at ``timestamps_s[t] - 0.5 / fps + (j + 0.5) / (4 fps)``, ``j = 0..3``, i.e. a hop of
``16000 / (4 fps)`` samples (160 at 25 fps = 100 Hz, 133.3 at 30 fps), computed from each frame's own time,
so gaps in a track do not shift the audio. The analysis window is ``max(25 ms, hop)`` long (no audio is
skipped at low fps); samples outside the track's audio count as zeros.

* ``logmel``: Hann window, power spectrum (n_fft = next power of two >= window), ``n_mels`` (default 40)
  triangular HTK-mel filters over 0-8 kHz, natural log of (energy + 1e-6).

The spectral part runs in torch with torchaudio's filterbank and DCT (``torchaudio.functional.melscale_fbanks``
with ``mel_scale="htk", norm=None``; ``create_dct(norm="ortho")``): ``logmel_torch(audio (B, N), timestamps_s
(T,), fps) -> (B, 4T, n_mels)`` is batched and runs on the tensors' device; ``audio_features`` is the same
computation for one numpy track. ``tests/test_loader_audio.py`` checks both against a plain numpy
re-derivation of the recipe above. The alignment (one window per feature frame, centred on each frame's own
time) is why ``torchaudio.transforms.MelSpectrogram`` itself is not used: its frames sit on one integer hop
grid (a hop of 133.3 samples at 30 fps cannot be expressed).
* ``mfcc``: the field's recipe (as the python_speech_features defaults used by TalkNet/Light-ASD): pre-emphasis
  0.97, rectangular window, 26 filters, log, orthonormal DCT-II, 13 coefficients, sinusoidal lifter 22, and
  coefficient 0 replaced by the log frame energy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torchaudio.functional as taf

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
def _fbanks(n_filters: int, n_fft: int, sample_rate_hz: int) -> torch.Tensor:
    return taf.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate_hz / 2, n_filters, sample_rate_hz, norm=None,
                               mel_scale="htk").to(torch.float32)


def mel_filterbank(n_filters: int, n_fft: int, sample_rate_hz: int) -> np.ndarray:
    """``(n_fft // 2 + 1, n_filters) float32`` triangular filters, evenly spaced on the HTK mel scale (torchaudio)."""
    return _fbanks(n_filters, n_fft, sample_rate_hz).numpy().copy()


@lru_cache(maxsize=8)
def _dct(n_in: int, n_out: int) -> torch.Tensor:
    """Orthonormal DCT-II, ``(n_in, n_out)`` (torchaudio)."""
    return taf.create_dct(n_out, n_in, norm="ortho").to(torch.float32)


def _window_sizes(fps: float, config: AudioFeatureConfig) -> tuple[int, int]:
    hop_s = 1.0 / (AUDIO_FRAMES_PER_VIDEO_FRAME * fps)
    window = int(round(max(config.min_window_s, hop_s) * config.sample_rate_hz))
    return window, 1 << max(window - 1, 1).bit_length()


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
    with torch.no_grad():
        return features_torch(torch.from_numpy(np.ascontiguousarray(signal))[None], timestamps_s, fps,
                              config)[0].numpy()


def logmel_torch(audio: torch.Tensor, timestamps_s: np.ndarray, fps: float, n_mels: int = 40) -> torch.Tensor:
    """Batched log-mel: ``audio (B, N)`` float in [-1, 1] sharing one timeline -> ``(B, 4T, n_mels)`` float32,
    on ``audio``'s device (see module doc)."""
    return features_torch(audio, timestamps_s, fps, AudioFeatureConfig(kind="logmel", n_mels=n_mels))


def features_torch(audio: torch.Tensor, timestamps_s: np.ndarray, fps: float,
                   config: AudioFeatureConfig = AudioFeatureConfig()) -> torch.Tensor:
    """``audio (B, N)`` float -> ``(B, 4T, F)`` float32 features of ``config.kind`` on ``audio``'s device."""
    sr = config.sample_rate_hz
    window, n_fft = _window_sizes(fps, config)
    signal = audio.to(torch.float32)
    if config.kind == "mfcc" and config.preemphasis:
        signal = torch.cat([signal[:, :1], signal[:, 1:] - config.preemphasis * signal[:, :-1]], dim=1)
    frames = _centred_windows_torch(signal, feature_frame_centres(timestamps_s, fps), window, sr)
    if config.kind == "logmel":
        frames = frames * torch.hann_window(window + 1, periodic=True, device=frames.device)[1:]
    spectrum = torch.fft.rfft(frames, n=n_fft, dim=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2) / n_fft
    device = power.device
    if config.kind == "logmel":
        return torch.log(power @ _fbanks(config.n_mels, n_fft, sr).to(device) + _EPS)
    energies = torch.log(power @ _fbanks(config.mfcc_filters, n_fft, sr).to(device) + _EPS)
    cepstra = energies @ _dct(config.mfcc_filters, config.n_mfcc).to(device)
    k = torch.arange(config.n_mfcc, device=device, dtype=torch.float32)
    cepstra = cepstra * (1.0 + (config.mfcc_lifter / 2.0) * torch.sin(torch.pi * k / config.mfcc_lifter))
    cepstra[..., 0] = torch.log(power.sum(dim=-1) + _EPS)
    return cepstra


def _centred_windows_torch(signal: torch.Tensor, centres_s: np.ndarray, window: int, sr: int) -> torch.Tensor:
    """``(B, K, window)`` samples centred at each time (zeros outside the audio), gathered on the device."""
    starts = np.round(centres_s * sr).astype(np.int64) - window // 2
    left = max(0, -int(starts.min()))
    right = max(0, int(starts.max()) + window - signal.shape[1])
    if left or right:
        signal = torch.nn.functional.pad(signal, (left, right))
    index = torch.from_numpy((starts + left)[:, None] + np.arange(window)[None, :]).to(signal.device)
    return signal[:, index]


@lru_cache(maxsize=8)
def silence_features(config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """``(F,) float32``: the features of an all-zero waveform (the same in every audio frame)."""
    fps = 25.0
    samples = np.zeros(int(round(config.sample_rate_hz / fps)) * 2, dtype=np.int16)
    features = audio_features(samples, np.array([0.5 / fps]), fps, config)
    return np.asarray(features[0], dtype=np.float32).copy()
