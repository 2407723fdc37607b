"""Visual encoders for face and body crops; each ends with its SE block before spatial pooling.

Both take a clip ``(B, T, C, H, W)`` and return per-frame embeddings ``(B, T, D)``. The SE block sees the
last conv feature map as video ``(B, C', T, h, w)`` (h = w = 7 for 112x112 crops), so its ``scaled`` map
and ``excitation`` give a heatmap per frame (``asd_explain.explain.se_maps.se_heatmaps``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..se.block import SqueezeExcite
from .blocks import SpatioTemporalBlock, frames_as_video, resnet_stage


def make_se(channels: int, enabled: bool, reduction: int, squeeze: str = "sample") -> nn.Module:
    """A SqueezeExcite block, or identity when SE is switched off."""
    return SqueezeExcite(channels, reduction, squeeze) if enabled else nn.Identity()  # type: ignore[arg-type]


def channels_last_conv_weights(module: nn.Module) -> None:
    """Store 2-D conv weights channels-last, so convs on 1-channel (grayscale) frames run channels-last too.

    (A (N, 1, H, W) input looks contiguous in both layouts; the weight's layout then decides, and the
    whole trunk stays channels-last, ~3x faster on CPU.) ``load_state_dict`` and ``.to()`` keep it.
    """
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)


class ChannelsLast(nn.Module):
    """Make a (N, C, H, W) map channels-last (a 1-channel input leaves the first op's output NCHW)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


class VisualEncoder(nn.Module):
    """Frames -> conv feature map -> SE -> spatial mean -> projection to ``embed_dim``.

    Subclasses implement ``feature_map(video) -> (B*T, C', h, w)`` (channels-last frames).
    """

    out_channels: int

    def __init__(self, out_channels: int, embed_dim: int, se: bool, reduction: int, squeeze: str) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.se = make_se(out_channels, se, reduction, squeeze)
        self.project = nn.Linear(out_channels, embed_dim) if out_channels != embed_dim else nn.Identity()

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> (B, T, embed_dim)."""
        num_frames = video.shape[1]
        maps = frames_as_video(self.feature_map(video), num_frames)  # (B, C', T, h, w)
        maps = self.se(maps)
        return self.project(maps.mean(dim=(3, 4)).transpose(1, 2))


class LightVisualEncoder(VisualEncoder):
    """(2+1)-D encoder at Light-ASD scale (~0.25M parameters, ~52 MFLOPs per 112x112 frame).

    Stem: 4x4 space-to-depth (pixel unshuffle) + 3x3 conv, giving a 28x28 map without any full-resolution
    work; then a block (-> 14x14 after max-pool), 2 blocks (-> 7x7), 2 blocks. Every block is a 3x3
    spatial conv followed by a temporal conv over 3 frames; all in channels-last memory.
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], embed_dim: int, *, se: bool = True,
                 reduction: int = 16, squeeze: str = "frame", temporal_kernel: int = 3,
                 map_stride: int = 16) -> None:
        w0, w1, w2, w3 = widths
        if map_stride not in (8, 16):
            raise ValueError(f"map_stride must be 8 or 16, got {map_stride}")
        self.pool_after_stage2 = map_stride == 16
        super().__init__(w3, embed_dim, se, reduction, squeeze)
        self.stem = nn.Sequential(nn.PixelUnshuffle(4), ChannelsLast(),
                                  nn.Conv2d(16 * in_channels, w0, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(w0), nn.ReLU(inplace=True))
        self.stage1 = nn.ModuleList([SpatioTemporalBlock(w0, w1, temporal_kernel)])
        self.stage2 = nn.ModuleList([SpatioTemporalBlock(w1, w2, temporal_kernel),
                                     SpatioTemporalBlock(w2, w2, temporal_kernel, residual=True)])
        self.stage3 = nn.ModuleList([SpatioTemporalBlock(w2, w3, temporal_kernel),
                                     SpatioTemporalBlock(w3, w3, temporal_kernel, residual=True)])
        self.pool = nn.MaxPool2d(2)
        channels_last_conv_weights(self)

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        num_frames = video.shape[1]
        x = self.stem(video.flatten(0, 1))
        for stage, pool in ((self.stage1, True), (self.stage2, self.pool_after_stage2), (self.stage3, False)):
            for block in stage:
                x = block(x, num_frames)
            if pool:
                x = self.pool(x)
        return x


class ResNet18VisualEncoder(VisualEncoder):
    """BIAS/TalkNet-like visual front end: 3-D conv stem (5x7x7) + ResNet18 trunk per frame.

    The last stage keeps stride 1 so 112x112 crops end on a 7x7 map (finer heatmaps). ~11.2M parameters.
    """

    def __init__(self, in_channels: int, embed_dim: int, *, se: bool = True, reduction: int = 16,
                 squeeze: str = "frame", widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__(widths[3], embed_dim, se, reduction, squeeze)
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, widths[0], (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.layers = nn.Sequential(
            resnet_stage(widths[0], widths[0], 2, 1),
            resnet_stage(widths[0], widths[1], 2, 2),
            resnet_stage(widths[1], widths[2], 2, 2),
            resnet_stage(widths[2], widths[3], 2, 1),
        )
        channels_last_conv_weights(self)

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        stem = self.stem(video.transpose(1, 2))  # (B, C, T, H', W')
        frames = stem.transpose(1, 2).flatten(0, 1).contiguous(memory_format=torch.channels_last)
        return self.layers(frames)
