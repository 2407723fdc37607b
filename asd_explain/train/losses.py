"""The BIAS loss: cross-entropy of the fused logits + ``aux_weight`` x each modality's auxiliary CE.

Only labelled frames count (``label_mask``); a modality blanked by modality dropout (``blanked[m]``, (B,)
bool) does not count in its own auxiliary CE (its head has nothing to go on), only in the fused one. The
logits come from the model's heads (the loss holds no classifier), so any model output dict
{"logits", "aux_logits"} can be trained with it.
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


def _mean_over_clips(terms: list[tuple[torch.Tensor, torch.Tensor]], mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of per-frame values over the chosen clips' labelled frames, all terms pooled.

    terms: [(value (B, T) or (B,), rows (B,) bool: the clips that count)]; mask: (B, T) bool or None.
    0 (connected to the graph) when no term is given.
    """
    total, count = None, 0.0
    for value, rows in terms:
        per_frame = value if value.dim() == 2 else value[:, None]
        frames = mask.shape[1] if mask is not None else per_frame.shape[1]
        weight = rows.to(per_frame.device)[:, None].to(per_frame.dtype).expand(per_frame.shape[0], frames)
        if mask is not None:
            weight = weight * mask.to(per_frame.dtype)
        term = (per_frame * weight).sum()
        total = term if total is None else total + term
        count += float(weight.sum())
    if total is None:
        return torch.zeros(())
    return total / max(count, 1.0)


def blank_share_penalty(shares: Mapping[str, torch.Tensor], blanked: Mapping[str, torch.Tensor],
                        mask: torch.Tensor | None) -> torch.Tensor:
    """Mean fusion-SE share of the blanked modality over the labelled frames of the clips where it was blanked.

    shares: {modality: (B, T) or (B,)} with their graph; blanked: {modality: (B,) bool}; mask: (B, T) bool.
    0 (connected to the graph) when no clip had a blank.
    """
    return _mean_over_clips([(share, blanked[m]) for m, share in shares.items() if m in blanked], mask)


def share_floor_penalty(shares: Mapping[str, torch.Tensor], blanked: Mapping[str, torch.Tensor] | None,
                        mask: torch.Tensor | None, floor: float) -> torch.Tensor:
    """Mean of ``relu(floor - share)`` over the modalities present in each clip and its labelled frames.

    Keeps every present modality's fusion-SE share at or above ``floor``, so the fusion cannot close a stream
    it is given (a blanked modality, ``blanked[m]`` True for its clip, is left to ``blank_share_penalty``).
    shares: {modality: (B, T) or (B,)} with their graph; blanked: {modality: (B,) bool} or None; mask: (B, T).
    """
    blanked = blanked or {}
    return _mean_over_clips(
        [(torch.relu(floor - share), ~blanked[m] if m in blanked else torch.ones(share.shape[0], dtype=torch.bool))
         for m, share in shares.items()], mask)


def gate_l1_penalty(gates: Mapping[str, torch.Tensor | None]) -> torch.Tensor:
    """Mean over SE blocks of each block's mean gate value (the excitation ``s`` with its graph).

    gates: {block name: s of shape (B, C) or (B, C, T), or None when the block kept no graph}. Every
    block counts equally whatever its channel count, so a wide encoder does not drown the fusion gate.
    """
    live = [g for g in gates.values() if g is not None]
    if not live:
        raise ValueError("gate_l1: no SE block kept its gate (does the model have SE blocks, and is it training?)")
    return torch.stack([g.float().mean() for g in live]).mean()


class ASDLoss(torch.nn.Module):
    """total = CE(fused) + aux_weight * sum_m CE(aux_m). Returns (total, {name: detached value}).

    ``unlabelled_blanks``: modalities whose blank (modality dropout) leaves the clip out of the fused CE.
    """

    def __init__(self, aux_weight: float = 0.4, unlabelled_blanks: tuple[str, ...] = ()) -> None:
        super().__init__()
        if aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0, got {aux_weight}")
        self.aux_weight = aux_weight
        self.unlabelled_blanks = tuple(unlabelled_blanks)

    def forward(self, output: Mapping[str, Any], labels: torch.Tensor,
                mask: torch.Tensor | None = None,
                blanked: Mapping[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        fused_mask = mask
        for modality in self.unlabelled_blanks:  # the fused head is not taught to decide without these
            if blanked is not None and modality in blanked:
                present = ~blanked[modality].to(labels.device)[:, None].expand_as(labels)
                fused_mask = present if fused_mask is None else fused_mask & present
        fused = masked_cross_entropy(output["logits"], labels, fused_mask)
        total = fused
        parts = {"loss_fused": fused.detach()}
        for modality, logits in output.get("aux_logits", {}).items():
            aux_mask = mask
            if blanked is not None and modality in blanked:
                present = ~blanked[modality].to(labels.device)[:, None].expand_as(labels)
                aux_mask = present if mask is None else mask & present
            aux = masked_cross_entropy(logits, labels, aux_mask)
            total = total + self.aux_weight * aux
            parts[f"loss_{modality}"] = aux.detach()
        parts["loss"] = total.detach()
        return total, {k: float(v) for k, v in parts.items()}
