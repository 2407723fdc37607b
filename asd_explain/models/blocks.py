"""Conv building blocks shared by the encoders.

Video is processed as frames ``(B*T, C, H, W)`` in channels-last memory: spatial convs are plain 2-D
convs, and temporal convs see the same memory as ``(B, C, T, H*W)`` (a zero-copy view of channels-last
frames), so a (k, 1) 2-D conv mixes frames without any transpose. On CPU this runs about 3x faster than
3-D convs on (B, C, T, H, W) tensors.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int | tuple[int, int] = 3,
                 stride: int | tuple[int, int] = 1) -> nn.Sequential:
    """Conv2d (no bias, 'same' padding for odd kernels) -> BatchNorm2d -> ReLU."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, k, stride, (k[0] // 2, k[1] // 2), bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def frames_as_sequences(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B*T, C, H, W) -> (B, C, T, H*W); a view when ``frames`` is channels-last."""
    bt, c, h, w = frames.shape
    return frames.permute(0, 2, 3, 1).reshape(bt // num_frames, num_frames, h * w, c).permute(0, 3, 1, 2)


def sequences_as_frames(seq: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, C, T, H*W) -> (B*T, C, H, W); inverse of ``frames_as_sequences``."""
    b, c, t, _ = seq.shape
    return seq.permute(0, 2, 3, 1).reshape(b * t, height, width, c).permute(0, 3, 1, 2)


def frames_as_video(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B*T, C, H, W) -> (B, C, T, H, W) (a strided view, no copy)."""
    return frames.unflatten(0, (-1, num_frames)).transpose(1, 2)


class TemporalConv(nn.Module):
    """Conv over time at every pixel of frames (B*T, C, H, W): (k, 1) conv on the (B, C, T, H*W) view."""

    def __init__(self, channels: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, (kernel, 1), padding=(kernel // 2, 0), bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        h, w = frames.shape[-2:]
        seq = torch.relu(self.bn(self.conv(frames_as_sequences(frames, num_frames))))
        return sequences_as_frames(seq, h, w)


class SpatioTemporalBlock(nn.Module):
    """(2+1)-D block on frames: 3x3 spatial conv -> BN -> ReLU -> temporal conv -> BN -> ReLU.

    With ``residual`` (in_ch == out_ch) the input is added before the last ReLU's output.
    Input and output: (B*T, C, H, W).
    """

    def __init__(self, in_ch: int, out_ch: int, temporal_kernel: int = 3, residual: bool = False) -> None:
        super().__init__()
        if residual and in_ch != out_ch:
            raise ValueError("a residual block needs in_ch == out_ch")
        self.spatial = conv_bn_relu(in_ch, out_ch, 3)
        self.temporal = TemporalConv(out_ch, temporal_kernel)
        self.residual = residual

    def forward(self, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        out = self.temporal(self.spatial(frames), num_frames)
        return out + frames if self.residual else out


class BasicBlock2d(nn.Module):
    """ResNet basic block: two 3x3 convs with BN, identity or 1x1 projection shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        needs_projection = in_ch != out_ch or stride not in (1, (1, 1))
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
        ) if needs_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def resnet_stage(in_ch: int, out_ch: int, blocks: int, stride: int | tuple[int, int]) -> nn.Sequential:
    """``blocks`` basic blocks; the first one carries the stride and the channel change."""
    layers = [BasicBlock2d(in_ch, out_ch, stride)]
    layers += [BasicBlock2d(out_ch, out_ch) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResidualTemporalConv(nn.Module):
    """Residual conv over time on per-frame embeddings: (B, T, D) -> (B, T, D)."""

    def __init__(self, dim: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x.transpose(1, 2))))
        return x + y.transpose(1, 2)
