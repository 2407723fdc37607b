"""Our python_speech_features-compatible MFCC against the package itself, on generated and real speech."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asd_explain.data.psf_mfcc import psf_frame_count, psf_mfcc, psf_mfcc_torch

psf = pytest.importorskip("python_speech_features", reason="python_speech_features (test extra) not installed")

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "data" / "real"
REFERENCE = SHARED / "weights" / "light-asd" / "reference_io.pt"


def _theirs(signal: np.ndarray) -> np.ndarray:
    return psf.mfcc(signal, 16000, numcep=13, winlen=0.025, winstep=0.010)


def _vowel(n: int, rng: np.random.Generator) -> np.ndarray:
    """Glottal pulse train through two resonances plus noise, int16 scale, with a silent gap."""
    t = np.arange(n) / 16000.0
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    source = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / 16000.0))
    speech = np.convolve(source, np.exp(-np.arange(200) / 40.0) * np.sin(np.arange(200) * 0.4), "same")
    signal = 3000 * speech / np.abs(speech).max() + rng.normal(0, 50, n)
    signal[n // 3: n // 3 + 800] = 0.0  # exact zeros: the eps branch of the log
    return np.round(signal).astype(np.int16)


@pytest.mark.parametrize("n", [300, 400, 401, 16000, 32000, 32123])
def test_generated_signal_equals_python_speech_features(n: int) -> None:
    signal = _vowel(n, np.random.default_rng(n))
    ours, theirs = psf_mfcc(signal), _theirs(signal)
    assert ours.shape == theirs.shape == (psf_frame_count(n), 13)
    np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)


def test_torch_batch_equals_single_signals() -> None:
    rng = np.random.default_rng(1)
    batch = np.stack([_vowel(8000, rng), _vowel(8000, rng) // 3])
    out = psf_mfcc_torch(torch.from_numpy(batch.astype(np.float64)))
    assert out.shape == (2, 49, 13)
    for row, signal in zip(out.numpy(), batch):
        np.testing.assert_allclose(row, _theirs(signal), atol=1e-6, rtol=0)
    single = psf_mfcc_torch(torch.from_numpy(batch.astype(np.float32)), dtype=torch.float32)
    np.testing.assert_allclose(single.numpy(), out.numpy(), atol=2e-3, rtol=0)


def test_frame_count_two_seconds_is_199() -> None:
    assert psf_frame_count(32000) == 199 and psf_frame_count(400) == 1 and psf_frame_count(561) == 3


@pytest.mark.parametrize("name", ["talking_head_1.mp4", "talking_head_2.mp4"])
def test_real_speech_equals_python_speech_features(name: str) -> None:
    if not (REAL / name).is_file():
        pytest.skip(f"{REAL / name} absent (the real clips live in ../shared/data/real)")
    from asd_explain.pretrained_inputs.audio import decode_audio_s16

    samples, _ = decode_audio_s16(REAL / name)
    assert samples.dtype == np.int16 and abs(len(samples) / 16000 - 5.5) < 1.0
    ours, theirs = psf_mfcc(samples), _theirs(samples)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


def test_reference_mfcc_is_the_first_two_seconds_through_swresample() -> None:
    """reference_io.pt's mfcc = MFCC of talking_head_1's first 32000 samples, FFmpeg-resampled to 16 kHz s16."""
    if not REFERENCE.is_file() or not (REAL / "talking_head_1.mp4").is_file():
        pytest.skip("../shared/weights/light-asd/reference_io.pt or ../shared/data/real absent")
    from asd_explain.pretrained_inputs.audio import decode_audio_s16

    samples, _ = decode_audio_s16(REAL / "talking_head_1.mp4")
    reference = torch.load(REFERENCE, weights_only=True)["mfcc"][0].double().numpy()
    np.testing.assert_allclose(psf_mfcc(samples[:32000]), reference, atol=1e-4, rtol=0)
