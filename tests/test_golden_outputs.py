"""Golden outputs: a fixed model on a fixed tiny track must give the stored logits and SE maps.

The model is the shipped light face + body + audio config with every tensor filled from a generator seeded
by the tensor's own name (so the values do not depend on the order modules are built in); the track is
8 frames of generated 64 x 64 grey face and body crops (a moving bright patch on textured noise) with
16 kHz audio (a tone that switches on and off plus noise). Expected values live in
``tests/golden/av_light.npz``; a silent numeric change anywhere between raw arrays and maps (audio
features, normalisation, encoders, fusion SE, map references, upsampling) fails here.

Rewrite the fixture deliberately with ``ASD_REGEN_GOLDEN=1 pytest tests/test_golden_outputs.py`` and say
why in the commit.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from asd_explain.config import load_config
from asd_explain.explain.av import MapSettings, explain_av_batch, track_batch
from asd_explain.models import ASDModel, ModelConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "golden" / "av_light.npz"
REGEN = os.environ.get("ASD_REGEN_GOLDEN") == "1"
FRAMES, SIZE, FPS, RATE = 8, 64, 25.0, 16000
REFERENCES = ("zero", "clip-mean", "speaking", "motion")
ATOL, RTOL = 1e-5, 1e-4


def golden_model() -> ASDModel:
    """configs/model_light_fba.yaml with every float tensor drawn from a generator seeded by its name."""
    model = ASDModel(load_config(ROOT / "configs" / "model_light_fba.yaml", ModelConfig))
    with torch.no_grad():
        for name, tensor in sorted(model.state_dict().items()):
            if not tensor.is_floating_point():
                continue
            gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            noise = torch.randn(tensor.shape, generator=gen, dtype=torch.float64)
            if name.endswith("running_var"):
                value = 1.0 + 0.1 * noise.abs()
            elif name.endswith("running_mean") or name.endswith("bias"):
                value = 0.1 * noise
            elif tensor.dim() == 1:  # norm scales
                value = 1.0 + 0.1 * noise
            else:  # weights: unit-variance outputs for unit-variance inputs
                value = noise / np.sqrt(max(1, tensor[0].numel()))
            tensor.copy_(value.to(tensor.dtype))
    return model.eval()


def golden_arrays() -> dict[str, np.ndarray]:
    """The tiny track: face / body (T, 64, 64) uint8, audio (N,) int16 at 16 kHz, timestamps (T,) s."""
    rng = np.random.RandomState(1234)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    crops = {}
    for k, name in enumerate(("face", "body")):
        base = 100 + 40 * np.sin(xx / (5.0 + k)) * np.cos(yy / 7.0) + rng.normal(0, 12, (FRAMES, SIZE, SIZE))
        for t in range(FRAMES):  # a bright patch that moves and changes size: the "mouth" / "hand"
            y0, x0, h = 36 + (t % 3) * 2 - 10 * k, 22 + t, 6 + 2 * (t % 2)
            base[t, y0:y0 + h, x0:x0 + 14] += 90
        crops[name] = np.clip(base, 0, 255).astype(np.uint8)
    timestamps = np.arange(FRAMES) / FPS + 0.04
    n = int(round(FRAMES / FPS * RATE))
    time_s = np.arange(n) / RATE
    tone = np.sin(2 * np.pi * 220 * time_s) * (np.sin(2 * np.pi * 3 * time_s) > 0)
    audio = (8000 * tone + rng.normal(0, 800, n)).astype(np.int16)
    return {"face": crops["face"], "body": crops["body"], "audio": audio, "timestamps_s": timestamps}


def compute_outputs() -> dict[str, np.ndarray]:
    """Logits, the default SE explanation (maps at every 2nd pixel) and every reference's maps (every 4th)."""
    model = golden_model()
    arrays = golden_arrays()
    batch = track_batch(model, face=arrays["face"], body=arrays["body"], audio=arrays["audio"],
                        timestamps_s=arrays["timestamps_s"], fps=FPS)
    out: dict[str, np.ndarray] = {"audio_input": batch["audio"][0].numpy(),
                                  "face_input": batch["face"][0, :, 0, ::4, ::4].numpy()}
    with torch.no_grad():
        result = model(face=batch["face"], body=batch["body"], audio=batch["audio"])
    out["logits"] = result["logits"][0].numpy()
    for name, logits in result["aux_logits"].items():
        out[f"aux_logits/{name}"] = logits[0].numpy()
    default = explain_av_batch(model, batch)[0]
    out["scores"] = default.scores
    out["face_maps"] = default.face_maps[:, ::2, ::2]
    out["body_maps"] = default.body_maps[:, ::2, ::2]
    out["audio_attention"] = default.audio_attention
    for name, shares in default.modality_shares.items():
        out[f"modality_shares/{name}"] = np.asarray(shares)
    for name, stats in default.kept.items():
        out[f"kept/{name}"] = np.atleast_1d(stats.kept).astype(np.float32)
    for reference in REFERENCES[1:]:
        item = explain_av_batch(model, batch, MapSettings(reference=reference))[0]
        out[f"{reference}/face_maps"] = item.face_maps[:, ::4, ::4]
        out[f"{reference}/body_maps"] = item.body_maps[:, ::4, ::4]
        out[f"{reference}/audio_attention"] = item.audio_attention[::2, ::2]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


@pytest.fixture(scope="module")
def outputs() -> dict[str, np.ndarray]:
    return compute_outputs()


@pytest.fixture(scope="module")
def expected(outputs) -> dict[str, np.ndarray]:
    if REGEN:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(FIXTURE, **outputs)
    if not FIXTURE.exists():
        pytest.fail(f"{FIXTURE} is missing; make it with ASD_REGEN_GOLDEN=1")
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def test_same_keys(outputs, expected):
    assert sorted(outputs) == sorted(expected)


@pytest.mark.parametrize("key", ["audio_input", "face_input", "logits", "scores"])
def test_inputs_and_logits(outputs, expected, key):
    np.testing.assert_allclose(outputs[key], expected[key], rtol=RTOL, atol=ATOL, err_msg=key)


def test_default_maps_and_shares(outputs, expected):
    for key in expected:
        if key.startswith(("aux_logits/", "modality_shares/", "kept/")) or key in (
                "face_maps", "body_maps", "audio_attention"):
            np.testing.assert_allclose(outputs[key], expected[key], rtol=RTOL, atol=ATOL, err_msg=key)


@pytest.mark.parametrize("reference", REFERENCES[1:])
def test_reference_maps(outputs, expected, reference):
    for key in (f"{reference}/face_maps", f"{reference}/body_maps", f"{reference}/audio_attention"):
        np.testing.assert_allclose(outputs[key], expected[key], rtol=RTOL, atol=ATOL, err_msg=key)


def test_outputs_are_not_degenerate(expected):
    """The fixture checks something: maps vary over pixels, shares over modalities, scores over frames."""
    assert expected["face_maps"].std() > 0.05 and expected["body_maps"].std() > 0.05
    assert expected["audio_attention"].std() > 0.05
    shares = np.stack([expected[f"modality_shares/{m}"] for m in ("audio", "face", "body")])
    np.testing.assert_allclose(shares.sum(axis=0), 1.0, atol=1e-5)
    assert np.ptp(expected["scores"]) > 1e-4
