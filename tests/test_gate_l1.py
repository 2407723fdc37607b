"""gate_l1: an L1 loss on every SE gate of the audio-visual model closes the channels the decision does not use."""
from __future__ import annotations

import csv
from dataclasses import replace

import pytest
import torch
from _asd_toy import toy_batches

from asd_explain.models import ModelConfig
from asd_explain.models.asd_model import ASDModel, model_inputs
from asd_explain.se import SECapture
from asd_explain.train.batches import ListBatchSource
from asd_explain.train.checkpoint import load_model
from asd_explain.train.config import OptimConfig, TrainConfig
from asd_explain.train.loop import Trainer, train
from asd_explain.train.losses import gate_l1_penalty

SMALL = ModelConfig(visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32), embed_dim=32, temporal_hidden=16,
                    se_reduction=4)  # 8 hidden units in the visual SE blocks (2 at 16 can both die)


def test_penalty_is_the_mean_over_blocks_of_each_mean_gate_and_has_a_gradient():
    a = torch.full((2, 4), 0.5, requires_grad=True)
    b = torch.tensor([[[0.1, 0.3]], [[0.2, 0.2]]], requires_grad=True)  # (B, C, T): mean 0.2
    penalty = gate_l1_penalty({"face": a, "fusion": b, "body": None})
    assert float(penalty.detach()) == pytest.approx((0.5 + 0.2) / 2)  # blocks weigh equally, not by channel count
    penalty.backward()
    assert torch.allclose(a.grad, torch.full_like(a, 0.5 / 8))
    with pytest.raises(ValueError, match="no SE block kept its gate"):
        gate_l1_penalty({"face": None})


def _mean_gates(model: ASDModel, batches) -> dict[str, float]:
    model.eval()
    sums: dict[str, list[float]] = {}
    with torch.no_grad():
        for batch in batches:
            with SECapture(model.se_blocks()) as capture:
                model(**model_inputs(batch, model.modalities, torch.device("cpu")))
            for name, gate in capture.gates.items():
                sums.setdefault(name, []).append(float(gate.mean()))
                assert not gate.requires_grad  # a capture without graph keeps none
    return {name: sum(v) / len(v) for name, v in sums.items()}


def _run(tmp_path, name: str, gate_l1: float):
    cfg = TrainConfig(model=SMALL, optim=OptimConfig(epochs=2, lr=1e-2), run_dir=str(tmp_path / name),
                      checkpoint_every_steps=0, log_every_steps=4, progress=False, gate_l1=gate_l1, seed=0)
    train_source = ListBatchSource(toy_batches(0, 12, size=32), shuffle=True)
    val_source = ListBatchSource(toy_batches(1, 4, size=32))
    result = train(cfg, train_source, val_source, resume=False)
    model, _ = load_model(result.last_checkpoint)
    return result, _mean_gates(model, toy_batches(1, 4, size=32))


def test_gate_l1_closes_the_gates_and_logs_their_mean(tmp_path):
    free_result, free = _run(tmp_path, "free", 0.0)
    sparse_result, sparse = _run(tmp_path, "sparse", 2.0)
    assert set(free) == {"audio", "face", "body", "fusion"}
    for name in free:  # every block's gate falls well below the free run's (which stays near sigmoid's 0.5)
        assert 0.3 < free[name] < 0.7, (name, free)
        assert sparse[name] < free[name] - 0.1, (name, free, sparse)
    assert sparse_result.progress.best_val_ap >= 0.85  # the task is still learnt
    with open(tmp_path / "sparse" / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    gates = [float(r["gate_mean"]) for r in rows]
    assert gates[-1] < gates[0] - 0.1
    with open(tmp_path / "free" / "train_log.csv") as handle:
        assert "gate_mean" not in next(csv.reader(handle))  # logs of runs without it keep their columns


def test_gate_l1_needs_se_blocks_and_a_non_negative_weight(tmp_path):
    source = ListBatchSource(toy_batches(0, 2, size=32))
    base = TrainConfig(model=replace(SMALL, se=False), run_dir=str(tmp_path / "x"), progress=False, gate_l1=1.0)
    with pytest.raises(ValueError, match="gate_l1 needs SE blocks"):
        Trainer(base, source, resume=False)
    with pytest.raises(ValueError, match="gate_l1 must be >= 0"):
        Trainer(replace(base, model=SMALL, gate_l1=-1.0), source, resume=False)
