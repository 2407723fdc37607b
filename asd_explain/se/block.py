"""The Squeeze-and-Excitation block whose gate is the explanation.

Squeeze (global average pool) -> Linear(C, C/r, no bias) -> ReLU -> Linear(C/r, C, no bias) -> Sigmoid
gives the excitation vector ``s`` (values in 0..1); the output is ``features * s``.

The block keeps no state between forwards: ``gate(x)`` is a pure function of its input (subclasses
override it, e.g. a gate that is the identity at initialisation) and ``forward(x) = x * gate(x)``. The
gate passes through ``gate_tap`` (an ``nn.Identity``, no parameters: state dicts are unchanged) so that a
forward hook can read it exactly as the forward used it, graph included; ``se.capture.SECapture`` does that
inside a ``with`` block and removes its hooks on leaving it.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Squeeze = Literal["sample", "frame"]


class SqueezeExcite(nn.Module):
    """SE block over feature maps of shape (B, C, *spatial).

    Accepted inputs:
      - (B, C, L)          1-D maps (e.g. temporal embeddings);
      - (B, C, H, W)       images and spectrograms (H = frequency, W = time for spectrograms);
      - (B, C, T, H, W)    video; ``squeeze="sample"`` pools over T, H and W (one s per clip, as BIAS),
                           ``squeeze="frame"`` pools over H and W only (one s per frame).

    Args:
        channels: number of channels C.
        reduction: bottleneck ratio r (hidden size = max(1, C // r)).
        squeeze: "sample" (one vector per sample / clip) or "frame" (video only: one vector per frame).
    """

    def __init__(self, channels: int, reduction: int = 16, squeeze: Squeeze = "sample") -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"SqueezeExcite needs channels >= 1, got {channels}")
        if reduction < 1:
            raise ValueError(f"SqueezeExcite needs reduction >= 1, got {reduction}")
        if squeeze not in ("sample", "frame"):
            raise ValueError(f"squeeze must be 'sample' or 'frame', got {squeeze!r}")
        hidden = max(1, channels // reduction)
        self.channels = channels
        self.reduction = reduction
        self.squeeze = squeeze
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)
        self.gate_tap = nn.Identity()  # where hooks read the gate (SECapture); no parameters

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Return the excitation ``s``: (B, C) or, for a per-frame squeeze of 5-D input, (B, C, T)."""
        if x.dim() < 3:
            raise ValueError(f"SqueezeExcite expects (B, C, ...) feature maps, got shape {tuple(x.shape)}")
        if x.shape[1] != self.channels:
            raise ValueError(f"SqueezeExcite built for {self.channels} channels, got {x.shape[1]}")
        if self.squeeze == "frame" and x.dim() == 5:
            pooled = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T, C)
            return self.excite(pooled).transpose(1, 2)  # (B, C, T)
        return self.excite(x.flatten(2).mean(dim=2))  # (B, C)

    def excite(self, pooled: torch.Tensor) -> torch.Tensor:
        """Squeezed (..., C) -> excitation (..., C): ``sigmoid(fc2(relu(fc1(pooled))))``."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(pooled))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate_tap(self.gate(x))
        if s.dim() == 3:  # (B, C, T) -> broadcast over H, W
            return x * s[..., None, None]
        return x * s.view(*s.shape, *([1] * (x.dim() - 2)))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, squeeze={self.squeeze!r}"
