"""The BIAS loss: cross-entropy of the fused logits + ``aux_weight`` x each modality's auxiliary CE.

Only labelled frames count (``label_mask``); the logits come from the model's heads (the loss holds no
classifier), so any model output dict {"logits", "aux_logits"} can be trained with it.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean CE over frames where ``mask`` is True. logits (B, T, 2), labels (B, T) int64, mask (B, T) bool.

    With no labelled frame the loss is 0 (still connected to the graph, so DDP sees every parameter).
    """
    if logits.shape[:2] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} disagree on (B, T)")
    flat_logits = logits.reshape(-1, logits.shape[-1]).float()
    flat_labels = labels.reshape(-1)
    if mask is None:
        return F.cross_entropy(flat_logits, flat_labels)
    flat_mask = mask.reshape(-1)
    per_frame = F.cross_entropy(flat_logits, flat_labels.clamp_min(0), reduction="none")
    count = flat_mask.sum()
    return (per_frame * flat_mask).sum() / count.clamp_min(1)


class ASDLoss(torch.nn.Module):
    """total = CE(fused) + aux_weight * sum_m CE(aux_m). Returns (total, {name: detached value})."""

    def __init__(self, aux_weight: float = 0.4) -> None:
        super().__init__()
        if aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0, got {aux_weight}")
        self.aux_weight = aux_weight

    def forward(self, output: Mapping[str, Any], labels: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        fused = masked_cross_entropy(output["logits"], labels, mask)
        total = fused
        parts = {"loss_fused": fused.detach()}
        for modality, logits in output.get("aux_logits", {}).items():
            aux = masked_cross_entropy(logits, labels, mask)
            total = total + self.aux_weight * aux
            parts[f"loss_{modality}"] = aux.detach()
        parts["loss"] = total.detach()
        return total, {k: float(v) for k, v in parts.items()}
