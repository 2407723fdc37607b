"""Audio features: exactly 4 frames per video frame at any fps, aligned with the frames; known values."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dct

from asd_explain.data.audio_features import (
    AudioFeatureConfig,
    audio_features,
    feature_frame_centres,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)

SR = 16000


def track_audio(timestamps_s, fps, fill=None):
    n = int(round((timestamps_s[-1] - timestamps_s[0] + 1 / fps) * SR))
    return np.zeros(n, np.float32) if fill is None else fill(np.arange(n) / SR)


@pytest.mark.parametrize("fps", [25.0, 30.0, 30000 / 1001, 24.0, 10.0, 60.0])
@pytest.mark.parametrize("kind", ["logmel", "mfcc"])
def test_four_feature_frames_per_video_frame_at_any_fps(fps, kind):
    ts = 3.0 + np.arange(37) / fps
    feats = audio_features(track_audio(ts, fps, lambda t: np.sin(2 * np.pi * 440 * t)), ts, fps,
                           AudioFeatureConfig(kind=kind))
    assert feats.shape == (4 * 37, 40 if kind == "logmel" else 13) and feats.dtype == np.float32
    assert np.isfinite(feats).all()


def test_frame_centres_follow_each_frames_own_time_across_gaps():
    ts = np.array([0.0, 0.04, 0.08, 0.20])  # a gap of two frames at 25 fps
    centres = feature_frame_centres(ts, 25.0)
    np.testing.assert_allclose(centres[:4], [0.005, 0.015, 0.025, 0.035])
    np.testing.assert_allclose(centres[12:], [0.205, 0.215, 0.225, 0.235])
    np.testing.assert_allclose(np.diff(feature_frame_centres(np.arange(5) / 30.0, 30.0)), 1 / 120)


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, 12.0])
def test_a_burst_in_video_frame_t_lights_audio_frames_4t_to_4t_plus_3(fps):
    ts = np.arange(30) / fps
    t_burst = 17

    def burst(t):
        start = ts[t_burst] - 0.5 / fps - ts[0] + 0.5 / fps  # audio time of frame 17's start
        return np.where((t >= start) & (t < start + 1 / fps), np.sin(2 * np.pi * 1000 * t), 0).astype(np.float32)

    feats = audio_features(track_audio(ts, fps, burst), ts, fps, AudioFeatureConfig(kind="logmel"))
    energy = feats.max(axis=1)
    loud = np.flatnonzero(energy > energy.min() + 5)
    assert set(range(4 * t_burst, 4 * t_burst + 4)) <= set(loud.tolist())
    assert loud.min() >= 4 * t_burst - 2 and loud.max() <= 4 * t_burst + 5  # only window overlap beyond


def test_logmel_of_a_tone_peaks_in_the_filter_around_its_frequency():
    fps = 25.0
    ts = np.arange(10) / fps
    for freq in (300.0, 1000.0, 3000.0):
        feats = audio_features(track_audio(ts, fps, lambda t, f=freq: 0.5 * np.sin(2 * np.pi * f * t)), ts, fps)
        centres_hz = mel_to_hz(np.linspace(0, hz_to_mel(SR / 2), 42))[1:-1]
        peak = int(np.argmax(feats[8:-8].mean(axis=0)))
        assert abs(peak - int(np.argmin(np.abs(centres_hz - freq)))) <= 1


def test_mfcc_matches_its_definition():
    fps = 25.0
    ts = np.arange(6) / fps
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(int(round(6 / fps * SR))) * 3000).astype(np.int16)
    feats = audio_features(audio, ts, fps, AudioFeatureConfig(kind="mfcc"))
    signal = audio.astype(np.float64) / 32768
    signal = np.append(signal[:1], signal[1:] - 0.97 * signal[:-1])
    j = 9  # audio frame 9: centred at 0.095 s -> samples 1320..1720 (400-sample window)
    frame = signal[1520 - 200:1520 + 200]
    power = np.abs(np.fft.rfft(frame, 512)) ** 2 / 512
    energies = np.log(power @ mel_filterbank(26, 512, SR) + 1e-6)
    cepstra = dct(energies, type=2, norm="ortho")[:13] * (1 + 11 * np.sin(np.pi * np.arange(13) / 22))
    cepstra[0] = np.log(power.sum() + 1e-6)
    np.testing.assert_allclose(feats[j], cepstra, rtol=1e-4, atol=1e-3)


def test_filterbank_is_triangular_and_covers_the_band():
    bank = mel_filterbank(40, 512, SR)
    assert bank.shape == (257, 40)
    assert bank.max() <= 1.0 + 1e-6 and (bank >= 0).all()
    assert (bank.sum(axis=0) > 0).all()


def test_unknown_feature_is_rejected():
    with pytest.raises(ValueError, match="unknown"):
        AudioFeatureConfig(kind="wav2vec")


def _numpy_reference(audio, timestamps_s, fps, kind, n_mels=40):
    """The recipe of the module docstring re-derived in float64 numpy (the pre-torchaudio implementation)."""
    from scipy.fft import rfft

    signal = audio.astype(np.float64)
    window = int(round(max(0.025, 1 / (4 * fps)) * SR))
    n_fft = 1 << max(window - 1, 1).bit_length()
    if kind == "mfcc":
        signal = np.append(signal[:1], signal[1:] - 0.97 * signal[:-1])
    starts = np.round(feature_frame_centres(timestamps_s, fps) * SR).astype(np.int64) - window // 2
    padded = np.concatenate([np.zeros(window), signal, np.zeros(2 * window)])
    frames = padded[(starts + window)[:, None] + np.arange(window)[None, :]]
    if kind == "logmel":
        frames = frames * np.hanning(window + 2)[1:-1]
    power = np.abs(rfft(frames, n=n_fft, axis=1)) ** 2 / n_fft
    n_filters = n_mels if kind == "logmel" else 26
    edges = mel_to_hz(np.linspace(0, hz_to_mel(SR / 2), n_filters + 2))
    bins = np.arange(n_fft // 2 + 1) * SR / n_fft
    bank = np.clip(np.minimum((bins[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None]),
                              (edges[2:, None] - bins[None]) / (edges[2:, None] - edges[1:-1, None])), 0, None).T
    energies = np.log(power @ bank + 1e-6)
    if kind == "logmel":
        return energies
    cepstra = dct(energies, type=2, norm="ortho", axis=1)[:, :13]
    cepstra *= 1 + 11 * np.sin(np.pi * np.arange(13) / 22)
    cepstra[:, 0] = np.log(power.sum(axis=1) + 1e-6)
    return cepstra


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, 12.0])
@pytest.mark.parametrize("kind", ["logmel", "mfcc"])
def test_torchaudio_features_equal_the_numpy_recipe(fps, kind):
    rng = np.random.default_rng(3)
    ts = 1.0 + np.arange(40) / fps
    audio = track_audio(ts, fps, lambda t: 0.3 * np.sin(2 * np.pi * 330 * t) * (t > 0.4)
                        + rng.normal(0, 0.02, len(t))).astype(np.float32)
    ours = audio_features(audio, ts, fps, AudioFeatureConfig(kind=kind))
    reference = _numpy_reference(audio, ts, fps, kind)
    np.testing.assert_allclose(ours, reference, atol=2e-4, rtol=1e-4)


def test_logmel_torch_is_batched_and_equals_per_track():
    import torch

    from asd_explain.data.audio_features import logmel_torch

    fps, ts = 25.0, np.arange(20) / 25.0
    tracks = [track_audio(ts, fps, lambda t, f=f: np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (200, 900)]
    batched = logmel_torch(torch.from_numpy(np.stack(tracks)), ts, fps)
    assert batched.shape == (2, 80, 40) and batched.dtype == torch.float32
    for k, audio in enumerate(tracks):
        np.testing.assert_allclose(batched[k].numpy(), audio_features(audio, ts, fps), atol=1e-6)
