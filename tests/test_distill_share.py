"""SE blocks that cannot die in distillation, and the fusion-share term (``distill.share_term``)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from test_distill import CFG, fresh, log_rows, setup, weights_file  # noqa: F401  (setup: module fixture)

from asd_explain.distill import read_distilled
from asd_explain.distill.checkpoint import load_distilled, make_state, save_state
from asd_explain.distill.config import DistillConfig
from asd_explain.distill.evaluation import evaluate, load_eval_set
from asd_explain.distill.loop import distill_tracks, student_model
from asd_explain.distill.share_term import audio_mass_share, share_hinge
from asd_explain.models.pretrained_blocks import IdentityInitSE


def dead_block(activation: str) -> tuple[IdentityInitSE, torch.Tensor]:
    """An SE block whose fc1 maps every (positive) input below zero, as the distilled Light-ASD's audio
    block ended; fc2 trained away from zero."""
    torch.manual_seed(0)
    block = IdentityInitSE(16, 4, "sample", activation=activation)
    with torch.no_grad():
        block.fc1.weight.copy_(-block.fc1.weight.abs() - 0.01)
        block.fc2.weight.normal_(0.0, 0.5)
    return block, torch.rand(3, 16, 5) + 0.1


def test_a_relu_block_whose_hidden_units_died_is_stuck_at_the_identity():
    block, x = dead_block("relu")
    gate = block.gate(x)
    gate.sum().backward()
    assert torch.equal(gate, torch.ones_like(gate))
    assert block.fc1.weight.grad.abs().max() == 0 and block.fc2.weight.grad.abs().max() == 0


def test_a_leaky_block_keeps_a_gradient_where_relu_died():
    block, x = dead_block("leaky_relu")
    gate = block.gate(x)
    gate.sum().backward()
    assert not torch.allclose(gate, torch.ones_like(gate))
    assert block.fc1.weight.grad.abs().max() > 1e-4 and block.fc2.weight.grad.abs().max() > 1e-4


def test_identity_at_init_with_either_activation_and_bad_name():
    x = torch.randn(2, 32, 4, 3, 3)
    for activation in ("relu", "leaky_relu"):
        block = IdentityInitSE(32, 16, "frame", activation=activation)
        assert torch.equal(block(x), x)
    with pytest.raises(ValueError, match="activation"):
        IdentityInitSE(32, 16, "frame", activation="tanh")


def test_share_hinge_and_audio_mass_share_on_known_values():
    share, occlusion = torch.tensor([0.5, 0.6]), torch.tensor([0.0, 1.0])
    assert float(share_hinge(share, occlusion, slope=0.2)) == pytest.approx(0.1)  # wants 0.2, has 0.1
    assert float(share_hinge(torch.tensor([0.4, 0.7]), occlusion, slope=0.2)) == 0.0
    assert float(share_hinge(torch.tensor([0.6, 0.5]), occlusion, slope=0.2)) == pytest.approx(0.3)  # wrong order
    assert float(share_hinge(share, torch.tensor([0.3, 0.3]), slope=0.2)) == 0.0  # no ordered pair
    gate = torch.tensor([[[1.0], [3.0], [2.0], [2.0]]])  # (1, 4 channels [audio 2 | face 2], 1 frame)
    assert audio_mass_share(gate, 2)[0, 0].item() == pytest.approx(0.5)
    gate[0, 0, 0] = 0.0
    assert audio_mass_share(gate, 2)[0, 0].item() == pytest.approx(3.0 / 7.0)


def test_distillation_blocks_are_leaky_and_old_checkpoints_load_as_relu(setup, tmp_path):  # noqa: F811
    path, sha, _ = setup
    assert DistillConfig().se_activation == "leaky_relu"
    model, _ = student_model(CFG, path)
    assert {b.activation for b in model.se_blocks().values()} == {"leaky_relu"}
    old, _ = student_model(replace(CFG, se_activation="relu"), path)
    state = make_state(old, pretrained="light-asd", weights_sha256=sha, config={}, step=0)
    assert state["se_activation"] == "relu"
    del state["se_activation"]  # as written before the option existed
    save_state(state, tmp_path / "old.pt")
    loaded = load_distilled(tmp_path / "old.pt", weights_file())
    assert {b.activation for b in loaded.se_blocks().values()} == {"relu"}


def test_share_term_makes_the_fusion_share_follow_the_teachers_audio_occlusion(setup, tmp_path):  # noqa: F811
    path, sha, tracks = setup
    cfg = replace(CFG, steps=12, eval_every=12, sparsity_weight=0.0, share_weight=1.0)
    model, _ = student_model(cfg, path)
    distill_tracks(model, sha, fresh(tracks), [False] * 3, tmp_path, cfg, progress=False, report=lambda _: None)
    eval_clips = load_eval_set(tmp_path / "eval_set.npz")
    identity, _ = student_model(cfg, path)
    before, after = evaluate(identity.eval(), eval_clips), evaluate(model.eval(), eval_clips)
    assert before["fusion_audio_share"] == pytest.approx(0.5)  # identity at init: 128 of 256 channels
    assert after["share_hinge"] < before["share_hinge"]
    assert after["share_occlusion_pearson"] > 0.1  # the share now rises with the audio occlusion effect
    assert after["pearson"] > 0.9
    rows = log_rows(tmp_path)
    assert all(float(r["share_hinge"]) >= 0.0 for r in rows if r["kind"] == "train")
    assert float([r for r in rows if r["kind"] == "eval"][-1]["share_occlusion_pearson"]) == pytest.approx(
        after["share_occlusion_pearson"], abs=1e-4)
    assert read_distilled(tmp_path / "checkpoints" / "last.pt")["config"]["share_weight"] == 1.0
