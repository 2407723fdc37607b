"""Pieces shared by the published AVA-trained architectures (Light-ASD, LR-ASD).

  - ``Preprocessing``: what the published weights expect (grey 112 px crops normalised with mean 0.4161 /
    std 0.1688 on x / 255, 25 fps, python_speech_features MFCC 13 @ 100 Hz, 4 MFCC frames per video frame);
  - ``VisualEncoder`` / ``AudioEncoder``: three blocks with the authors' pooling in between; the last conv
    feature map is exposed (``feature_map``) so an SE block can sit before the final pooling;
  - ``ChannelGate``: ``x * sigmoid(BN1d(conv1d 1x1(x)))`` over (B, T, C), LR-ASD's fusion / detector gate;
  - ``IdentityInitSE``: an SE block whose gate is ``2 * sigmoid(...)`` with ``fc2`` zero-initialised, i.e.
    exactly 1 at initialisation (the model's outputs are unchanged until the gate is trained).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..constants import GREY_MEAN, GREY_STD, SAMPLE_RATE_HZ
from ..se.block import Squeeze, SqueezeExcite

BlockFactory = Callable[[int, int, bool], nn.Module]  # (in_channels, out_channels, downsample) -> block


@dataclass(frozen=True)
class Preprocessing:
    """Inputs the published weights were trained on (AVA, the authors' data loaders)."""

    colour: str = "grey"
    face_size_px: int = 112
    pixel_mean: float = GREY_MEAN
    pixel_std: float = GREY_STD
    fps: float = 25.0
    sample_rate_hz: int = SAMPLE_RATE_HZ
    audio_feature: str = "mfcc_psf"  # python_speech_features.mfcc(signal, 16000, numcep=13, 0.025, 0.010)
    n_mfcc: int = 13
    mfcc_window_s: float = 0.025
    mfcc_step_s: float = 0.010
    mfcc_frames_per_video_frame: int = 4

    @property
    def mfcc_rate_hz(self) -> float:
        return 1.0 / self.mfcc_step_s

    def normalise_faces(self, faces_uint8: torch.Tensor) -> torch.Tensor:
        """Grey crops 0..255 (any shape, any dtype) -> float ``(x / 255 - mean) / std``."""
        return (faces_uint8.float() / 255.0 - self.pixel_mean) / self.pixel_std


PREPROCESSING = Preprocessing()


def batch_norm(dim: int, channels: int, eps: float, momentum: float) -> nn.Module:
    """BatchNorm{1,2,3}d with the given eps / momentum (the published models do not use PyTorch's)."""
    cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dim]
    return cls(channels, eps=eps, momentum=momentum)


def conv(module: nn.Module, x: torch.Tensor, weight: torch.Tensor | None = None,
         bias: torch.Tensor | None = None) -> torch.Tensor:
    """``module(x)``, or the same convolution with ``weight`` / ``bias`` in place of the module's. A ``Conv3d``
    whose kernel is ``(k, 1, 1)`` (temporal, stride 1, no groups) runs as a 2-D conv over ``(B, C, T, H W)``:
    the same sums (equal to float rounding, tested), about half the CPU time of PyTorch's conv3d for these
    shapes (its 1x1x1 and (k, 1, 1) kernels take a slow path, 2.9.1)."""
    if weight is None:
        weight, bias = module.weight, module.bias
    if isinstance(module, nn.Conv3d) and _temporal_only(module):
        batch, channels, frames, height, width = x.shape
        out = F.conv2d(x.reshape(batch, channels, frames, height * width), weight[..., 0], bias,
                       padding=(module.padding[0], 0))
        return out.reshape(batch, -1, frames, height, width)
    if weight is module.weight and bias is module.bias:
        return module(x)
    if module.padding_mode != "zeros":
        raise ValueError(f"{module}: only zero padding can run with other weights")
    functional = F.conv3d if isinstance(module, nn.Conv3d) else F.conv2d
    return functional(x, weight, bias, module.stride, module.padding, module.dilation, module.groups)


def _temporal_only(module: nn.Conv3d) -> bool:
    return (tuple(module.kernel_size[1:]) == (1, 1) and tuple(module.stride) == (1, 1, 1)
            and tuple(module.dilation) == (1, 1, 1) and module.groups == 1
            and tuple(module.padding[1:]) == (0, 0) and module.padding_mode == "zeros")


def conv_bn_relu(convolution: nn.Module, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``relu(norm(convolution(x)))``. Without autograd, with ``norm`` in eval mode and no hooks on either
    module, the batch norm is folded into the convolution (``w * g / sqrt(v + eps)``, bias ``b - m g /
    sqrt(v + eps)``: the same function, ~1e-7 relative rounding, tested), which saves a pass over the
    activations, and the ReLU is in place."""
    if (torch.is_grad_enabled() or norm.training or norm.running_var is None or norm.weight is None
            or _hooked(convolution) or _hooked(norm)):
        return torch.relu(norm(conv(convolution, x)))  # not in place: a hook may hold the norm's output
    scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
    weight = convolution.weight * scale.view(-1, *[1] * (convolution.weight.dim() - 1))
    bias = norm.bias - norm.running_mean * scale
    if convolution.bias is not None:
        bias = bias + convolution.bias * scale
    return torch.relu_(conv(convolution, x, weight, bias))


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


class VisualEncoder(nn.Module):
    """(B, 1, T, 112, 112) -> block1 (down-sampling) -> pool -> block2 -> pool -> block3 (B, C, T, 14, 14).

    ``feature_map`` stops there; ``pool`` takes the per-frame global max -> (B, T, C).
    """

    def __init__(self, block: BlockFactory, widths: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.block1 = block(1, w1, True)
        self.pool1 = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        self.block2 = block(w1, w2, False)
        self.pool2 = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        self.block3 = block(w2, w3, False)
        self.out_channels = w3

    @property
    def temporal_radius_frames(self) -> int | None:
        """Frames on each side of frame t that change its output (the blocks' temporal convs; the pools are
        per frame), or None when a block does not declare ``temporal_radius``."""
        radii = [getattr(b, "temporal_radius", None) for b in (self.block1, self.block2, self.block3)]
        return None if None in radii else sum(radii)

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) normalised grey crops -> (B, C, T, H/8, W/8)."""
        return self.block3(self.pool2(self.block2(self.pool1(self.block1(video)))))

    @staticmethod
    def pool(maps: torch.Tensor) -> torch.Tensor:
        """(B, C, T, h, w) -> (B, T, C): global max over space, per frame."""
        return maps.amax(dim=(3, 4)).transpose(1, 2)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(video))


class AudioEncoder(nn.Module):
    """(B, 1, 13, 4T) MFCC -> block1 -> time pool -> block2 -> time pool -> block3 (B, C, 13, T).

    ``feature_map`` stops there; ``pool`` takes the mean over the coefficient axis -> (B, T, C).
    """

    def __init__(self, block: BlockFactory, widths: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.block1 = block(1, w1, False)
        self.pool1 = nn.MaxPool2d((1, 3), (1, 2), (0, 1))
        self.block2 = block(w1, w2, False)
        self.pool2 = nn.MaxPool2d((1, 3), (1, 2), (0, 1))
        self.block3 = block(w2, w3, False)
        self.out_channels = w3

    def feature_map(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, 4T) -> (B, C, F, T)."""
        return self.block3(self.pool2(self.block2(self.pool1(self.block1(spectrogram)))))

    @staticmethod
    def pool(maps: torch.Tensor) -> torch.Tensor:
        """(B, C, F, T) -> (B, T, C): mean over the coefficient axis."""
        return maps.mean(dim=2).transpose(1, 2)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(spectrogram))


class ChannelGate(nn.Module):
    """``x * sigmoid(BN1d(conv1d 1x1, no bias)(x))`` per frame: (B, T, C) -> (B, T, C).

    The gate ``w`` (``gate(x)``, (B, T, C) in (0, 1)) weighs every channel of every frame; over
    [audio | visual] its two halves are a native modality importance (LR-ASD's fusion).
    """

    def __init__(self, channels: int, eps: float, momentum: float) -> None:
        super().__init__()
        self.attention = nn.Conv1d(channels, channels, 1, bias=False)
        self.bn = batch_norm(1, channels, eps, momentum)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C) weights in (0, 1)."""
        return torch.sigmoid(self.bn(self.attention(x.transpose(1, 2)))).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


SE_ACTIVATIONS = ("relu", "leaky_relu")
LEAKY_SLOPE = 0.1


class IdentityInitSE(SqueezeExcite):
    """SqueezeExcite whose excitation is ``2 * sigmoid(fc2(act(fc1(pooled))))``, in (0, 2).

    ``fc2`` starts at zero, so the excitation is exactly 1 and the block is the identity at
    initialisation: attached to a pretrained network it changes nothing until its gate is trained.
    ``activation``: "relu" (the SE paper's, and every checkpoint distilled before the choice existed) or
    "leaky_relu" (slope ``LEAKY_SLOPE`` below 0). With ReLU a block can die in training: once ``fc1`` maps
    every input below zero, the excitation is exactly 1 and neither ``fc1`` nor ``fc2`` gets any gradient
    again (the distilled Light-ASD's audio and fusion blocks did that, docs/pretrained.md); the leaky
    slope keeps a gradient. Squeezing, scaling and recording are the parent's.
    """

    def __init__(self, channels: int, reduction: int = 16, squeeze: Squeeze = "sample",
                 activation: str = "relu") -> None:
        super().__init__(channels, reduction, squeeze)
        if activation not in SE_ACTIVATIONS:
            raise ValueError(f"SE activation must be one of {SE_ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        nn.init.zeros_(self.fc2.weight)

    def excite(self, pooled: torch.Tensor) -> torch.Tensor:
        hidden = self.fc1(pooled)
        hidden = torch.relu(hidden) if self.activation == "relu" else \
            nn.functional.leaky_relu(hidden, LEAKY_SLOPE)
        return 2.0 * torch.sigmoid(self.fc2(hidden))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation!r}"
