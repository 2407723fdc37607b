"""Modality importance: how much of the decision each of audio / face / body carries, three ways.

  se_mass        each modality's share of the fusion SE gate's mass (sums to 1 per frame);
  kept_channels  which modality the fusion channels kept by the map threshold belong to (mean + z * std of
                 the gate per frame, or the top PERCENT; as BIAS reads its fusion SE): the share of the
                 kept channels per modality (sums to 1 per frame);
  occlusion      the speaking probability minus the probability with that modality's input blanked
                 (crops at the normalisation mean, i.e. zeros in normalised space; silence for audio):
                 > 0 where the modality pushed towards "speaking", < 0 where it held the score down.

All three are (B, T) per frame; ``track_importance`` averages them over a track's frames. They work on any
model with the staged-forward contract (DESIGN.md): ``forward_<modality>(x) -> (B, T, D)``,
``forward_fusion({m: (B, T, D)})``, ``forward_temporal``, ``forward_head -> (B, T, 2)`` logits, a fusion
SE gate (B, sum of channels, T) or (B, sum of channels) whose channels follow ``fusion_layout()`` ((modality,
channels) in order; e.g. (("audio", 128), ("face", 128)) for a fusion over [audio | face]), and optionally
``blank_input(modality, x)`` (default: zeros like ``x``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..models.heads import speaking_probability
from .se_maps import select_channels

IMPORTANCE_KINDS = ("se_mass", "kept_channels", "occlusion")
Layout = Sequence[tuple[str, int]]


def _per_modality(values: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Sum over each modality's channels: (B, C[, T]) -> (B, M[, T])."""
    sizes = [channels for _, channels in layout]
    if values.shape[1] != sum(sizes):
        raise ValueError(f"fusion gate has {values.shape[1]} channels, the layout {list(layout)} has {sum(sizes)}")
    if len(set(sizes)) == 1:
        return values.unflatten(1, (len(sizes), sizes[0])).sum(dim=2)
    return torch.stack([part.sum(dim=1) for part in values.split(sizes, dim=1)], dim=1)


def _shares(parts: torch.Tensor, layout: Layout, frames: int) -> dict[str, torch.Tensor]:
    """(B, M[, T]) non-negative parts -> {modality: (B, T)} shares of their sum (0 where the sum is 0)."""
    parts = parts / parts.sum(dim=1, keepdim=True).clamp_min(1e-12)
    if parts.dim() == 2:  # one gate per clip: the same share on every frame
        parts = parts[..., None].expand(-1, -1, frames)
    return {name: parts[:, i] for i, (name, _) in enumerate(layout)}


def se_mass_share(gate: torch.Tensor, layout: Layout, frames: int) -> dict[str, torch.Tensor]:
    """Each modality's share of the fusion gate's mass, {modality: (B, T)}."""
    return _shares(_per_modality(gate.float(), layout), layout, frames)


def kept_channel_share(gate: torch.Tensor, layout: Layout, frames: int, *, z: float,
                       top_percent: float | None = None) -> dict[str, torch.Tensor]:
    """Each modality's share of the fusion channels above mean + z * std of the gate (or of the top
    ``top_percent``), {m: (B, T)}. Unlike the maps' selection no channel is forced in: where none stands out
    (e.g. an SE that is still the identity, every gate equal) every channel counts, so the shares are the
    modalities' channel fractions rather than whichever channel comes first."""
    gate = gate.float()
    if top_percent is not None:
        kept, _ = select_channels(gate, top_percent=top_percent)
    else:
        kept = gate > (gate.mean(dim=1) + z * gate.std(dim=1, unbiased=False)).unsqueeze(1)
        kept = kept | ~kept.any(dim=1, keepdim=True)
    return _shares(_per_modality(kept.float(), layout), layout, frames)


def fusion_layout(model: Any, channels: int) -> Layout:
    """``model.fusion_layout()``, or the fusion gate's ``channels`` split evenly over the model's modalities
    in fusion order [audio | face | body]."""
    if hasattr(model, "fusion_layout"):
        return tuple(model.fusion_layout())
    names = [m for m in ("audio", "face", "body") if m in model.modalities]
    if channels % len(names):
        raise ValueError(f"{type(model).__name__}: {channels} fusion channels do not split over {names}; "
                         "give the model a fusion_layout()")
    return tuple((m, channels // len(names)) for m in names)


def blank_input(model: Any, modality: str, x: torch.Tensor) -> torch.Tensor:
    """The model's input for a missing ``modality`` shaped like ``x``: ``model.blank_input`` or zeros."""
    custom = getattr(model, "blank_input", None)
    return custom(modality, x) if custom is not None else torch.zeros_like(x)


def staged_logits(model: Any, embeddings: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Fusion, temporal model and head on per-modality embeddings: (B, T, 2) logits."""
    return model.forward_head(model.forward_temporal(model.forward_fusion(dict(embeddings))))


@torch.no_grad()
def occlusion_importance(model: Any, inputs: Mapping[str, torch.Tensor], embeddings: Mapping[str, torch.Tensor],
                         scores: torch.Tensor, modalities: Sequence[str]) -> dict[str, torch.Tensor]:
    """{modality: (B, T)} clean speaking probability minus the one with that modality blanked.

    inputs / embeddings: the clean forward's per-modality inputs and ``forward_<m>`` outputs (B, T, D);
    scores: its speaking probabilities (B, T). The blank is the same for every item, so its embedding is
    computed once and broadcast over the batch (items are independent in eval mode).
    """
    out = {}
    for m in modalities:
        blank = blank_input(model, m, inputs[m][:1])
        embedding = getattr(model, f"forward_{m}")(blank).expand_as(embeddings[m])
        blanked = speaking_probability(staged_logits(model, {**embeddings, m: embedding}))
        out[m] = scores.float() - blanked
    return out


def track_importance(importance: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Per-frame importance {kind: {modality: (T,)}} -> its mean over the track's frames."""
    return {kind: {m: float(np.mean(v)) if len(v) else float("nan") for m, v in values.items()}
            for kind, values in importance.items()}
