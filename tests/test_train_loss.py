"""The BIAS loss: masked cross-entropy of the fused head + 0.4 x each auxiliary head."""
from __future__ import annotations

import math

import pytest
import torch

from asd_explain.train.losses import ASDLoss, masked_cross_entropy


def test_masked_cross_entropy_by_hand():
    logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 5.0]]])  # (1, 3, 2)
    labels = torch.tensor([[1, 0, 0]])
    mask = torch.tensor([[True, True, False]])
    expected = (math.log(2.0) + math.log(1.0 + math.exp(-2.0))) / 2  # third frame is masked out
    assert masked_cross_entropy(logits, labels, mask).item() == pytest.approx(expected, rel=1e-6)


def test_empty_mask_gives_zero_but_keeps_graph():
    logits = torch.randn(2, 4, 2, requires_grad=True)
    loss = masked_cross_entropy(logits, torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None


def test_aux_weight_is_applied_to_each_modality():
    torch.manual_seed(1)
    labels = torch.randint(0, 2, (3, 5))
    out = {"logits": torch.randn(3, 5, 2),
           "aux_logits": {"audio": torch.randn(3, 5, 2), "face": torch.randn(3, 5, 2), "body": torch.randn(3, 5, 2)}}
    total, parts = ASDLoss(0.4)(out, labels)
    manual = parts["loss_fused"] + 0.4 * (parts["loss_audio"] + parts["loss_face"] + parts["loss_body"])
    assert total.item() == pytest.approx(manual, rel=1e-6)
    assert parts["loss"] == pytest.approx(total.item())
    with pytest.raises(ValueError, match="disagree"):
        ASDLoss()({"logits": torch.randn(3, 4, 2)}, labels)
