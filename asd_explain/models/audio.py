"""Audio encoders: a time-frequency map, an SE block on it, then pooling over frequency.

Input: audio features ``(B, 4T, F)`` (4 audio frames per video frame; F = n_mels for log-mel or 13 for
MFCC). The conv trunk sees them as an image ``(B, 1, F, 4T)`` (H = frequency, W = time) and halves time
twice, so the SE block acts on ``(B, C, F', T)``: its ``scaled`` map and ``excitation`` draw attention
over the spectrogram. Output: per-video-frame embeddings ``(B, T, D)``.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import BasicBlock2d, conv_bn_relu, resnet_stage
from .visual import ChannelsLast, channels_last_conv_weights, make_se


class AudioEncoder(nn.Module):
    """Features -> per-band BatchNorm -> conv map (B, C', F', T) -> SE -> mean over frequency -> projection.

    The input BatchNorm normalises each frequency band with running statistics (log-mel values sit
    around -6 with bands of very different level), so the trunk starts from zero-mean, unit-scale input.
    """

    def __init__(self, out_channels: int, embed_dim: int, se: bool, reduction: int, n_features: int) -> None:
        super().__init__()
        self.input_norm = nn.BatchNorm1d(n_features)
        self.out_channels = out_channels
        self.se = make_se(out_channels, se, reduction, "sample")
        self.project = nn.Linear(out_channels, embed_dim) if out_channels != embed_dim else nn.Identity()

    def feature_map(self, spectrogram: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 4T, F) -> (B, T, embed_dim)."""
        spectrogram = self.input_norm(audio.transpose(1, 2)).unsqueeze(1)  # (B, 1, F, 4T); convs channels-last
        maps = self.se(self.feature_map(spectrogram))  # (B, C', F', T)
        return self.project(maps.mean(dim=2).transpose(1, 2))


class LightAudioEncoder(AudioEncoder):
    """Small 2-D CNN (~0.3M parameters): stride 2 in frequency at 3 stages, in time at 2 (4T -> T)."""

    def __init__(self, widths: tuple[int, ...], embed_dim: int, *, n_features: int = 40, se: bool = True,
                 reduction: int = 16) -> None:
        w0, w1, w2, w3 = widths
        super().__init__(w3, embed_dim, se, reduction, n_features)
        self.trunk = nn.Sequential(
            conv_bn_relu(1, w0, 3),
            ChannelsLast(),
            conv_bn_relu(w0, w1, 3, (2, 2)),
            conv_bn_relu(w1, w2, 3, (2, 2)),
            BasicBlock2d(w2, w2),
            conv_bn_relu(w2, w3, 3, (2, 1)),
            BasicBlock2d(w3, w3),
        )
        channels_last_conv_weights(self)

    def feature_map(self, spectrogram: torch.Tensor) -> torch.Tensor:
        return self.trunk(spectrogram.contiguous(memory_format=torch.channels_last))


class ResNet18AudioEncoder(AudioEncoder):
    """ResNet18-like 2-D audio trunk (BIAS uses an SE-ResNet34-like one), widths 64..512 (~11M)."""

    def __init__(self, embed_dim: int, *, n_features: int = 13, se: bool = True, reduction: int = 16,
                 widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__(widths[3], embed_dim, se, reduction, n_features)
        self.trunk = nn.Sequential(
            conv_bn_relu(1, widths[0], 3),
            ChannelsLast(),
            resnet_stage(widths[0], widths[0], 2, 1),
            resnet_stage(widths[0], widths[1], 2, (2, 2)),
            resnet_stage(widths[1], widths[2], 2, (2, 2)),
            resnet_stage(widths[2], widths[3], 2, (2, 1)),
        )
        channels_last_conv_weights(self)

    def feature_map(self, spectrogram: torch.Tensor) -> torch.Tensor:
        return self.trunk(spectrogram.contiguous(memory_format=torch.channels_last))
