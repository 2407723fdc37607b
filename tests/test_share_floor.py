"""share_floor: every modality present in a clip keeps at least a floor of the fusion SE's share."""
from __future__ import annotations

import csv

import pytest
import torch
from _asd_toy import toy_batches
from test_gate_l1 import SMALL

from asd_explain.models.asd_model import ASDModel, model_inputs
from asd_explain.models.fusion import modality_shares
from asd_explain.se import SECapture
from asd_explain.train.batches import ListBatchSource
from asd_explain.train.checkpoint import load_model
from asd_explain.train.config import OptimConfig, TrainConfig
from asd_explain.train.loop import Trainer, train
from asd_explain.train.losses import share_floor_penalty


def test_penalty_is_the_mean_shortfall_below_the_floor_over_present_labelled_frames():
    shares = {"audio": torch.tensor([[0.1, 0.5], [0.3, 0.0]], requires_grad=True),
              "face": torch.tensor([[0.6, 0.2], [0.05, 0.9]], requires_grad=True),
              "body": torch.tensor([0.3, 0.05], requires_grad=True)}  # one share per clip
    blanked = {"face": torch.tensor([False, True]), "audio": torch.tensor([False, False])}
    mask = torch.tensor([[True, True], [True, False]])
    penalty = share_floor_penalty(shares, blanked, mask, 0.25)
    # audio: 0.15 + 0 + 0 (frame (1, 1) unlabelled); face: clip 0 only, 0 + 0.05; body: 0, 0, 0.2
    assert float(penalty.detach()) == pytest.approx((0.15 + 0.05 + 0.2) / (3 + 2 + 3))
    penalty.backward()
    assert float(shares["audio"].grad[0, 0]) == pytest.approx(-1 / 8)
    assert float(shares["face"].grad[1, 0]) == 0.0  # a blanked face is not held up
    assert float(shares["audio"].grad[1, 1]) == 0.0  # nor an unlabelled frame
    assert float(share_floor_penalty(shares, None, mask, 0.01).detach()) == 0.0


def _shares(model: ASDModel, batches) -> dict[str, float]:
    model.eval()
    out: dict[str, list[float]] = {}
    with torch.no_grad():
        for batch in batches:
            with SECapture({"fusion": model.fusion.se}) as capture:
                model(**model_inputs(batch, model.modalities, torch.device("cpu")))
            for name, share in modality_shares(capture.gates["fusion"], model.fusion.modalities,
                                               model.fusion.dim).items():
                out.setdefault(name, []).append(float(share.mean()))
    return {name: sum(v) / len(v) for name, v in out.items()}


def _run(tmp_path, name: str, floor: float):
    cfg = TrainConfig(model=SMALL, optim=OptimConfig(epochs=2, lr=1e-2), run_dir=str(tmp_path / name),
                      checkpoint_every_steps=0, log_every_steps=4, progress=False, gate_l1=4.0, seed=0,
                      share_floor=floor)
    train(cfg, ListBatchSource(toy_batches(0, 12, size=32), shuffle=True), ListBatchSource(toy_batches(1, 4, size=32)),
          resume=False)
    model, _ = load_model(tmp_path / name / "checkpoints" / "last.pt")
    return _shares(model, toy_batches(1, 4, size=32))


def test_the_floor_holds_up_the_stream_the_gate_loss_pulls_down(tmp_path):
    free = _run(tmp_path, "free", 0.0)
    held = _run(tmp_path, "held", 0.32)
    assert min(free.values()) < 0.28, free  # the gate loss pulls the least needed stream down (audio here)
    assert min(held.values()) >= 0.30, held  # the floor holds every stream near it
    with open(tmp_path / "held" / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    shortfalls = [float(r["loss_share_floor"]) for r in rows]  # logged; small, as the floor is held
    assert len(shortfalls) == len(rows) and 0.0 <= min(shortfalls) and max(shortfalls) < 0.02


def test_floor_must_leave_room_for_every_modality(tmp_path):
    source = ListBatchSource(toy_batches(0, 2, size=32))
    cfg = TrainConfig(model=SMALL, run_dir=str(tmp_path / "x"), progress=False, share_floor=0.34)
    with pytest.raises(ValueError, match="share_floor must be in"):
        Trainer(cfg, source, resume=False)
