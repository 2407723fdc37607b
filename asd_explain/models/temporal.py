"""Temporal modelling after fusion: (B, T, in_dim) -> (B, T, out_dim).

"gru": bidirectional GRU (Light-ASD style), out_dim = 2 * hidden.
"attention": one pre-norm self-attention layer with sinusoidal positions (BIAS style), out_dim = hidden.
"conv": two residual temporal convs (kernel 5), out_dim = hidden.
"none": identity, out_dim = in_dim.

``AudioVisualProducts`` (``ModelConfig.av_products``) comes first: for each visual stream v it appends the
per-frame product of a projection of the audio embedding and a projection of v's embedding. Summed
over time by the temporal model, such products are a learned audio-visual correlation (does this mouth
open and close with this voice?), which is what tells a speaker from a listener who moves the lips.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ResidualTemporalConv


class AudioVisualProducts(nn.Module):
    """(B, T, M*D) fused [audio | face | body] -> (B, T, M*D + V*P): appends (W_a a) * (W_v v) per visual v."""

    def __init__(self, modalities: tuple[str, ...], dim: int, product_dim: int = 64) -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.dim = dim
        self.visual = tuple(m for m in self.modalities if m != "audio")
        if "audio" not in self.modalities or not self.visual:
            raise ValueError("audio-visual products need audio and at least one visual stream")
        self.audio_proj = nn.ModuleDict({v: nn.Linear(dim, product_dim) for v in self.visual})
        self.visual_proj = nn.ModuleDict({v: nn.Linear(dim, product_dim) for v in self.visual})
        self.out_dim = dim * len(self.modalities) + product_dim * len(self.visual)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        parts = dict(zip(self.modalities, fused.split(self.dim, dim=2), strict=True))
        products = [self.audio_proj[v](parts["audio"]) * self.visual_proj[v](parts[v]) for v in self.visual]
        return torch.cat([fused, *products], dim=2)


def windowed_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Centred moving average over time of (B, T, C), window frames (odd), shrinking at the clip ends."""
    pooled = F.avg_pool1d(x.transpose(1, 2), window, stride=1, padding=window // 2, count_include_pad=False)
    return pooled.transpose(1, 2)


class AudioVisualCorrelation(nn.Module):
    """Windowed Pearson correlations between audio and visual projections, per visual stream.

    a = W_a audio (B, T, K) and v = W_v visual (B, T, K); for every pair (i, j) of their K components,
    corr_ij(t) = cov(a_i, v_j) / sqrt(var(a_i) var(v_j)) over a centred window of ``window`` frames
    (about a second). (B, T, M*D) -> (B, T, M*D + V*K*K). This is the statistic that separates a speaker
    (mouth in step with the voice) from a listener whose lips move on their own; as a fixed operator on
    learned projections it is learned in far fewer steps than from plain products.
    """

    def __init__(self, modalities: tuple[str, ...], dim: int, components: int = 8, window: int = 25) -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.dim = dim
        self.window = window if window % 2 else window + 1
        self.visual = tuple(m for m in self.modalities if m != "audio")
        if "audio" not in self.modalities or not self.visual:
            raise ValueError("audio-visual correlation needs audio and at least one visual stream")
        self.audio_proj = nn.ModuleDict({v: nn.Linear(dim, components) for v in self.visual})
        self.visual_proj = nn.ModuleDict({v: nn.Linear(dim, components) for v in self.visual})
        self.out_dim = dim * len(self.modalities) + components * components * len(self.visual)

    def correlation(self, a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """(B, T, K) x (B, T, K) -> (B, T, K*K) windowed correlations, in [-1, 1]."""
        a = a.float() - windowed_mean(a.float(), self.window)
        v = v.float() - windowed_mean(v.float(), self.window)
        cov = windowed_mean((a.unsqueeze(3) * v.unsqueeze(2)).flatten(2), self.window)  # (B, T, K*K)
        var_a = windowed_mean(a * a, self.window)
        var_v = windowed_mean(v * v, self.window)
        scale = torch.sqrt((var_a.unsqueeze(3) * var_v.unsqueeze(2)).flatten(2) + 1e-6)
        return cov / scale

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        parts = dict(zip(self.modalities, fused.split(self.dim, dim=2), strict=True))
        corr = [self.correlation(self.audio_proj[v](parts["audio"]), self.visual_proj[v](parts[v])).to(fused.dtype)
                for v in self.visual]
        return torch.cat([fused, *corr], dim=2)


class BiGRUTemporal(nn.Module):
    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(length, dim) sine/cosine position codes (frequencies 1 / 10000^(2i/dim))."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim, device=device, dtype=torch.float32)
    codes[:, 0::2] = torch.sin(position * freq)
    codes[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return codes.to(dtype)


class SelfAttentionTemporal(nn.Module):
    def __init__(self, in_dim: int, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"temporal_hidden {hidden} must be divisible by attention_heads {heads}")
        self.project = nn.Linear(in_dim, hidden)
        self.layer = nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout, batch_first=True,
                                                norm_first=True)
        self.out_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x)
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device, h.dtype)
        return self.layer(h)


class ConvTemporal(nn.Module):
    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.project = nn.Linear(in_dim, hidden)
        self.blocks = nn.Sequential(ResidualTemporalConv(hidden, 5), ResidualTemporalConv(hidden, 5))
        self.out_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.project(x))


class IdentityTemporal(nn.Module):
    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def build_temporal(kind: str, in_dim: int, hidden: int, heads: int = 4, dropout: float = 0.1) -> nn.Module:
    """The temporal model named ``kind``; its ``out_dim`` attribute gives the output width."""
    if kind == "gru":
        return BiGRUTemporal(in_dim, hidden)
    if kind == "attention":
        return SelfAttentionTemporal(in_dim, hidden, heads, dropout)
    if kind == "conv":
        return ConvTemporal(in_dim, hidden)
    if kind == "none":
        return IdentityTemporal(in_dim)
    raise ValueError(f"unknown temporal model {kind!r} (choose gru, attention, conv, none)")


def build_av_interaction(config) -> nn.Module:
    """The audio-visual interaction of a ModelConfig (identity when off or not applicable)."""
    if not config.uses_av_interaction:
        return nn.Identity()
    modalities = config.ordered_modalities
    if config.av_interaction == "products":
        return AudioVisualProducts(modalities, config.embed_dim, config.av_components)
    return AudioVisualCorrelation(modalities, config.embed_dim, config.av_components, config.av_window_frames)
