"""Modality dropout: one modality of a training clip replaced by the blank that ``explain --blank`` uses."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _store import write_store

from asd_explain.config import ConfigError
from asd_explain.data.augment import choose_blank
from asd_explain.data.dataset import TrackDataset, collate
from asd_explain.data.store import Track
from asd_explain.train.config import DataConfig
from asd_explain.train.losses import ASDLoss, masked_cross_entropy
from asd_explain.train.recipe import load_train_config

LENGTHS = [9, 6, 11, 8]


def _track(i: int, n: int) -> Track:
    rng = np.random.default_rng(100 + i)
    ts = i + np.arange(n) / 25.0
    n_audio = int(round((ts[-1] - ts[0] + 1 / 25.0) * 16000))
    return Track(entity_id=f"v{i % 2}_0_1:{i}", video_id=f"v{i % 2}", fps=25.0, timestamps_s=ts,
                 labels=(np.arange(n) % 2).astype(np.int8),
                 face=rng.integers(0, 256, (n, 32, 32), dtype=np.uint8),
                 body=rng.integers(0, 256, (n, 24, 16), dtype=np.uint8),
                 face_boxes=np.tile([0.1, 0.1, 0.2, 0.3], (n, 1)), body_boxes=np.tile([0, 0, 0.5, 1.0], (n, 1)),
                 audio=(rng.standard_normal(n_audio) * 3000).astype(np.int16))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("md") / "store", (_track(i, n) for i, n in enumerate(LENGTHS)))


def _batch(dataset: TrackDataset, keys) -> dict:
    return collate([dataset[k] for k in keys])


KEYS = [(0, 0, 9, 0), (1, 0, 6, 0), (2, 2, 8, 1), (3, 0, 8, 3)]  # (track, start, frames, epoch); padding in batch


def test_choose_blank_fraction_and_uniform_choice():
    rng = np.random.default_rng(0)
    draws = [choose_blank(("audio", "face", "body"), 0.3, rng) for _ in range(20000)]
    blanked = [d for d in draws if d is not None]
    assert abs(len(blanked) / len(draws) - 0.3) < 0.015
    for name in ("audio", "face", "body"):
        assert abs(blanked.count(name) / len(blanked) - 1 / 3) < 0.03
    assert choose_blank(("face",), 0.0, rng) is None
    assert all(choose_blank(("face",), 1.0, rng) == "face" for _ in range(50))


@pytest.mark.parametrize("name", ["face", "body", "audio"])
def test_p1_blanks_exactly_that_modality_and_leaves_the_rest(store, name):
    clean = _batch(TrackDataset(store, augment=False), KEYS)
    dropped = _batch(TrackDataset(store, augment=False, modality_dropout=1.0, dropout_modalities=(name,)), KEYS)
    # the blank is exactly what explain_tracks(blank=...) feeds: zeros in normalised space
    assert torch.equal(dropped[name], torch.zeros_like(clean[name]))
    for other in ("face", "body", "audio"):
        if other != name:
            assert torch.equal(dropped[other], clean[other])
        assert dropped["blanked"][other].tolist() == [other == name] * len(KEYS)
    for key in ("labels", "label_mask", "timestamps_s"):
        assert torch.equal(dropped[key], clean[key])  # the label is kept
    assert "blanked" not in clean


def test_p1_any_modality_one_blank_per_clip(store):
    clean = _batch(TrackDataset(store, augment=True, seed=5), KEYS)
    dataset = TrackDataset(store, augment=True, seed=5, modality_dropout=1.0)
    dropped = _batch(dataset, KEYS)
    for b in range(len(KEYS)):
        names = [m for m in ("face", "body", "audio") if dropped["blanked"][m][b]]
        assert len(names) == 1
        for m in ("face", "body", "audio"):
            want = torch.zeros_like(clean[m][b]) if m == names[0] else clean[m][b]  # augmentation unchanged
            assert torch.equal(dropped[m][b], want)
    again = _batch(dataset, KEYS)  # deterministic per (seed, epoch, track, start)
    assert all(torch.equal(again[m], dropped[m]) for m in ("face", "body", "audio"))


def test_fraction_blanked_over_clips_is_about_p(store):
    dataset = TrackDataset(store, modalities=("face", "audio"), modality_dropout=0.4, seed=1)
    keys = [(t, 0, 3, epoch) for epoch in range(120) for t in range(len(LENGTHS))]
    blanked = [dataset[k]["blanked"] for k in keys]
    fraction = np.mean([len(b) > 0 for b in blanked])
    assert abs(fraction - 0.4) < 0.07
    assert 0.4 < np.mean([b == ("face",) for b in blanked if b]) < 0.6


def test_dataset_rejects_bad_settings(store):
    with pytest.raises(ValueError, match="modality_dropout"):
        TrackDataset(store, modality_dropout=1.5)
    with pytest.raises(ValueError, match="cannot drop 'body'"):
        TrackDataset(store, modalities=("face", "audio"), modality_dropout=0.5, dropout_modalities=("body",))


def test_loss_leaves_blanked_items_out_of_their_own_aux_ce():
    torch.manual_seed(0)
    logits = {m: torch.randn(3, 5, 2) for m in ("fused", "audio", "face")}
    labels = torch.randint(0, 2, (3, 5))
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[2, 3:] = False
    blanked = {"audio": torch.tensor([False, False, False]), "face": torch.tensor([True, False, False])}
    output = {"logits": logits["fused"], "aux_logits": {"audio": logits["audio"], "face": logits["face"]}}
    total, parts = ASDLoss(0.4)(output, labels, mask, blanked)
    face = masked_cross_entropy(logits["face"][1:], labels[1:], mask[1:])
    audio = masked_cross_entropy(logits["audio"], labels, mask)
    fused = masked_cross_entropy(logits["fused"], labels, mask)
    assert parts["loss_face"] == pytest.approx(float(face), abs=1e-6)
    assert float(total) == pytest.approx(float(fused + 0.4 * (audio + face)), abs=1e-6)
    plain, _ = ASDLoss(0.4)(output, labels, mask)
    assert float(plain) != pytest.approx(float(total), abs=1e-6)
    # unlabelled_blanks: a clip whose face is blanked leaves the fused CE too (the audio aux CE keeps it)
    total, parts = ASDLoss(0.4, unlabelled_blanks=("face",))(output, labels, mask, blanked)
    fused_present = masked_cross_entropy(logits["fused"][1:], labels[1:], mask[1:])
    assert parts["loss_fused"] == pytest.approx(float(fused_present), abs=1e-6)
    assert float(total) == pytest.approx(float(fused_present + 0.4 * (audio + face)), abs=1e-6)
    with pytest.raises(ConfigError, match="unlabelled_blanks: unknown modality 'lips'"):
        load_train_config(Path(__file__).resolve().parents[1] / "configs" / "train_synth.yaml",
                          overrides={"unlabelled_blanks": ["lips"]})


def test_config_default_off_and_yaml_keys(tmp_path):
    assert DataConfig().modality_dropout == 0.0 and DataConfig().dropout_modalities == ()
    path = tmp_path / "t.yaml"
    path.write_text("data:\n  modality_dropout: 0.25\n  dropout_modalities: [face, body]\n")
    config = load_train_config(path)
    assert config.data.modality_dropout == 0.25 and config.data.dropout_modalities == ("face", "body")
    with pytest.raises(ConfigError, match="modality_dropout"):
        load_train_config(path, overrides={"data.modality_dropout": 2})
    with pytest.raises(ConfigError, match="lips"):
        load_train_config(path, overrides={"data.dropout_modalities": ["lips"]})
    shipped = load_train_config(Path(__file__).resolve().parents[1] / "configs" / "train_synth.yaml")
    assert 0.0 <= shipped.data.modality_dropout <= 1.0


def test_blank_share_penalty_is_the_mean_share_of_the_blanked_modality_and_has_a_gradient():
    from asd_explain.models.fusion import ModalityFusion, modality_shares
    from asd_explain.se import SECapture
    from asd_explain.train.losses import blank_share_penalty

    torch.manual_seed(1)
    fusion = ModalityFusion(("audio", "face", "body"), 8)
    fusion.train()
    with SECapture({"fusion": fusion.se}, graph=True) as live, SECapture({"fusion": fusion.se}) as plain:
        out = fusion({m: torch.randn(3, 4, 8) for m in ("audio", "face", "body")})
    shares = modality_shares(live.gates["fusion"], fusion.modalities, fusion.dim)
    detached = modality_shares(plain.gates["fusion"], fusion.modalities, fusion.dim)
    assert not plain.gates["fusion"].requires_grad
    assert out.shape == (3, 4, 24)
    assert all(torch.allclose(shares[m].detach(), detached[m]) for m in shares)  # same gate as the SE records
    blanked = {"audio": torch.tensor([False, False, True]), "face": torch.tensor([True, False, False]),
               "body": torch.tensor([False, False, False])}
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[0, 3] = False
    penalty = blank_share_penalty(shares, blanked, mask)
    want = (shares["face"][0, :3].sum() + shares["audio"][2].sum()) / 7
    assert float(penalty.detach()) == pytest.approx(float(want.detach()), abs=1e-6)
    penalty.backward()
    assert fusion.se.fc1.weight.grad is not None and fusion.se.fc1.weight.grad.abs().sum() > 0
    none = {m: torch.zeros(3, dtype=torch.bool) for m in blanked}
    assert float(blank_share_penalty(shares, none, mask).detach()) == 0.0
    fusion({m: torch.randn(1, 2, 8) for m in ("audio", "face", "body")})
    assert fusion.se.gate_tap._forward_hooks == {}  # the captures released their hooks
