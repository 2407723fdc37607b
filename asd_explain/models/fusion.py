"""Fusion by concatenation with an SE block over the joint embedding: the modality importance.

Per-frame embeddings ``(B, T, D)`` of the present modalities are concatenated in the order
[audio | face | body] into ``(B, T, M*D)``; an SE block gates the M*D channels. Its excitation, split
into the M modality slices, gives each modality's share of the gate mass ("face vs body vs audio").
The module keeps no state: the gate is read with ``se.capture.SECapture`` on ``fusion.se`` (with its graph
for the ``blank_gate_weight`` loss) and turned into shares by ``modality_shares``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..se.block import SqueezeExcite


def modality_shares(excitation: torch.Tensor, modalities: tuple[str, ...], dim: int) -> dict[str, torch.Tensor]:
    """Each modality's share of the SE mass.

    excitation: (B, M*D) per clip or (B, M*D, T) per frame, channels in ``modalities`` order.
    Returns {modality: (B,) or (B, T)}; the shares sum to 1 per clip / frame.
    """
    if excitation.shape[1] != len(modalities) * dim:
        raise ValueError(f"excitation has {excitation.shape[1]} channels, expected {len(modalities)} x {dim}")
    parts = excitation.unflatten(1, (len(modalities), dim)).sum(dim=2)  # (B, M) or (B, M, T)
    parts = parts / parts.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return {name: parts[:, i] for i, name in enumerate(modalities)}


class ModalityFusion(nn.Module):
    """Concatenate [audio | face | body] embeddings and gate them with an SE block.

    squeeze "frame": one excitation per frame, (B, M*D, T); "sample": one per clip, (B, M*D).
    Input: {modality: (B, T, D)}; output: (B, T, M*D).
    """

    def __init__(self, modalities: tuple[str, ...], dim: int, *, se: bool = True, reduction: int = 16,
                 squeeze: str = "frame") -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.dim = dim
        self.out_dim = dim * len(self.modalities)
        self.squeeze = squeeze
        self.se: nn.Module = SqueezeExcite(self.out_dim, reduction, "frame" if squeeze == "frame" else "sample") \
            if se else nn.Identity()

    def forward(self, embeddings: dict[str, torch.Tensor]) -> torch.Tensor:
        missing = [m for m in self.modalities if m not in embeddings]
        if missing:
            raise ValueError(f"fusion needs embeddings of {list(self.modalities)}; missing {missing}")
        joint = torch.cat([embeddings[m] for m in self.modalities], dim=2).transpose(1, 2)  # (B, M*D, T)
        x = joint[..., None, None] if self.squeeze == "frame" else joint  # per-frame squeeze of (B, C, T, 1, 1)
        gated = self.se(x)
        if self.squeeze == "frame":
            gated = gated[..., 0, 0]
        return gated.transpose(1, 2)

    def layout(self) -> tuple[tuple[str, int], ...]:
        """(modality, channels) of the gated concatenation, in channel order."""
        return tuple((m, self.dim) for m in self.modalities)
