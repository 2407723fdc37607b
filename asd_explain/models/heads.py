"""Per-frame classification heads: the speaking logits live in the model, never in the loss."""
from __future__ import annotations

import torch
from torch import nn

SPEAKING_CLASS = 1


class FrameHead(nn.Module):
    """Dropout + Linear: (B, T, in_dim) -> (B, T, num_classes) logits; class 1 = SPEAKING_AUDIBLE."""

    def __init__(self, in_dim: int, num_classes: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(features))


def speaking_probability(logits: torch.Tensor) -> torch.Tensor:
    """(..., 2) logits -> (...) probability of SPEAKING_AUDIBLE (the score of the AVA CSV)."""
    return torch.softmax(logits.float(), dim=-1)[..., SPEAKING_CLASS]
