"""Light-ASD (Liao et al., CVPR 2023) as its published AVA weights define it (see docs/pretrained.md).

Visual block: two parallel (2+1)-D paths, k = 3 and k = 5 (spatial conv (1, k, k), stride (1, 2, 2) when
down-sampling -> BN -> ReLU -> temporal conv (k, 1, 1) -> BN -> ReLU), summed, then conv 1x1x1 -> BN -> ReLU.
Audio block: the same shape in 2-D over (coefficient, time): (k, 1) then (1, k). No conv has a bias; every
BN has eps 1e-3, momentum 0.01. Back end: audio + visual embeddings summed, forward GRU -> GELU -> flip in
time -> second GRU -> flip back -> GELU.
"""
from __future__ import annotations

import torch
from torch import nn

from .pretrained_blocks import AudioEncoder, VisualEncoder, batch_norm, conv_bn_relu
from .pretrained_model import EMBED_DIM, PretrainedASDModel

ARCHITECTURE = "light-asd"
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def _bn(dim: int, channels: int) -> nn.Module:
    return batch_norm(dim, channels, BN_EPS, BN_MOMENTUM)


class LightVisualBlock(nn.Module):
    """(B, in, T, H, W) -> (B, out, T, H', W'); two (2+1)-D paths (k = 3, 5) summed, then 1x1x1."""

    temporal_radius = 2  # the k = 5 temporal conv

    def __init__(self, in_ch: int, out_ch: int, downsample: bool) -> None:
        super().__init__()
        stride = (1, 2, 2) if downsample else (1, 1, 1)
        for k in (3, 5):
            self.add_module(f"s_{k}", nn.Conv3d(in_ch, out_ch, (1, k, k), stride, (0, k // 2, k // 2), bias=False))
            self.add_module(f"bn_s_{k}", _bn(3, out_ch))
            self.add_module(f"t_{k}", nn.Conv3d(out_ch, out_ch, (k, 1, 1), 1, (k // 2, 0, 0), bias=False))
            self.add_module(f"bn_t_{k}", _bn(3, out_ch))
        self.last = nn.Conv3d(out_ch, out_ch, 1, bias=False)
        self.bn_last = _bn(3, out_ch)

    def _path(self, x: torch.Tensor, k: int) -> torch.Tensor:
        x = conv_bn_relu(getattr(self, f"s_{k}"), getattr(self, f"bn_s_{k}"), x)
        return conv_bn_relu(getattr(self, f"t_{k}"), getattr(self, f"bn_t_{k}"), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Temporal and 1x1x1 convs run as 2-D convs, BN folded into them without autograd
        (``pretrained_blocks.conv_bn_relu``)."""
        paths = self._path(x, 3), self._path(x, 5)
        joined = paths[0] + paths[1] if torch.is_grad_enabled() else paths[0].add_(paths[1])
        return conv_bn_relu(self.last, self.bn_last, joined)


class LightAudioBlock(nn.Module):
    """(B, in, F, L) -> (B, out, F, L); two paths (k = 3, 5): conv (k, 1) then (1, k), summed, then 1x1."""

    def __init__(self, in_ch: int, out_ch: int, downsample: bool = False) -> None:
        super().__init__()
        if downsample:
            raise ValueError("the Light-ASD audio block does not down-sample")
        for k in (3, 5):
            self.add_module(f"m_{k}", nn.Conv2d(in_ch, out_ch, (k, 1), 1, (k // 2, 0), bias=False))
            self.add_module(f"bn_m_{k}", _bn(2, out_ch))
            self.add_module(f"t_{k}", nn.Conv2d(out_ch, out_ch, (1, k), 1, (0, k // 2), bias=False))
            self.add_module(f"bn_t_{k}", _bn(2, out_ch))
        self.last = nn.Conv2d(out_ch, out_ch, 1, bias=False)
        self.bn_last = _bn(2, out_ch)
        self.relu = nn.ReLU()

    def _path(self, x: torch.Tensor, k: int) -> torch.Tensor:
        x = self.relu(getattr(self, f"bn_m_{k}")(getattr(self, f"m_{k}")(x)))
        return self.relu(getattr(self, f"bn_t_{k}")(getattr(self, f"t_{k}")(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn_last(self.last(self._path(x, 3) + self._path(x, 5))))


class SequentialBiGRU(nn.Module):
    """(B, T, D) -> (B, T, D): GRU -> GELU -> flip -> GRU -> flip back -> GELU (the second GRU runs on the
    first one's output, backwards in time)."""

    def __init__(self, dim: int = EMBED_DIM) -> None:
        super().__init__()
        self.gru_forward = nn.GRU(dim, dim, batch_first=True)
        self.gru_backward = nn.GRU(dim, dim, batch_first=True)
        self.gelu = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gelu(self.gru_forward(x)[0])
        x = self.gru_backward(torch.flip(x, dims=[1]))[0]
        return self.gelu(torch.flip(x, dims=[1]))


class LightASD(PretrainedASDModel):
    """Light-ASD: sum fusion + sequential bidirectional GRU. ~1.02M parameters + heads.

    Example: ``model = load_pretrained("light-asd")`` (asd_explain.models.pretrained), then
    ``model(face=model.preprocessing.normalise_faces(faces_uint8), audio=mfcc)["logits"]``.
    """

    architecture = ARCHITECTURE
    key_prefixes = (
        ("model.visualEncoder.", "visual_encoder."),
        ("model.audioEncoder.", "audio_encoder."),
        ("model.GRU.", "temporal."),
        ("lossAV.FC.", "head."),
        ("lossV.FC.", "aux_head."),
    )

    def __init__(self, *, se: bool = False, se_reduction: int = 16, audio_squeeze: str = "frame",
                 se_activation: str = "relu") -> None:
        super().__init__(VisualEncoder(LightVisualBlock), AudioEncoder(LightAudioBlock),
                         se=se, se_reduction=se_reduction, audio_squeeze=audio_squeeze, se_activation=se_activation)
        self.temporal = SequentialBiGRU(EMBED_DIM)

    def fuse(self, audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) x2 -> (B, T, 128): element-wise sum."""
        return audio + face

    def forward_temporal(self, fused: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) -> (B, T, 128)."""
        return self.temporal(fused)
