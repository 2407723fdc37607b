"""Image classifiers: any torchvision CNN, with or without one SE block before its pooling.

``output_stride`` (ResNets): 32 is torchvision's network as it is; 16 sets the stride of the last stage
(``layer4``) to 1, the "last stride 1" of person re-identification and DeepLab's output stride 16, so the
map the SE block explains has twice the resolution (8x8 instead of 4x4 at 128 px). No weight changes
shape (the 1x1 and 3x3 kernels are the same; only where they are applied changes), so a torchvision
state dict loads into either; a resnet18 training step costs about 1.4x (measured 1.37x at 128 px on 2 CPU cores).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from ..se.attach import attach_se

ARCHS = (
    "resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
    "densenet121", "vgg11_bn", "vgg16_bn", "convnext_tiny", "regnet_y_400mf", "shufflenet_v2_x1_0",
)
CHECKPOINT_FORMAT = "asd_explain.image_classifier/1"
OUTPUT_STRIDES = (16, 32)
RESNETS = ("resnet18", "resnet34", "resnet50")


def default_output_stride(arch: str) -> int:
    """The image recipe's default: 16 for the ResNets (their 4x4 layer4 map at 128 px is too coarse to
    point at a 31-44 px object), the architecture's own 32 for the others."""
    return 16 if arch in RESNETS else 32


def set_output_stride(model: nn.Module, output_stride: int) -> nn.Module:
    """Make a torchvision ResNet's last feature map 1/``output_stride`` of its input (16 or 32), in place.

    16 sets every stride-2 conv of ``layer4``'s first block to stride 1 (conv1 of a BasicBlock or conv2 of a
    Bottleneck, and the 1x1 shortcut conv). Parameters are untouched.
    """
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
    if output_stride == 32:
        return model
    layer4 = getattr(model, "layer4", None)
    if not isinstance(layer4, nn.Sequential) or not len(layer4):
        raise ValueError(
            f"output_stride {output_stride} is implemented for ResNets ({', '.join(RESNETS)}) only; "
            f"{type(model).__name__} has no layer4 (use output_stride 32)")
    block = layer4[0]
    for conv in [m for m in block.modules() if isinstance(m, nn.Conv2d)]:
        if conv.stride == (2, 2):
            conv.stride = (1, 1)
    return model


def build_classifier(arch: str, num_classes: int, *, se: bool = True, reduction: int = 16,
                     output_stride: int = 32) -> nn.Module:
    """A randomly initialised torchvision ``arch`` with ``num_classes`` outputs, plus an SE block when ``se``.

    No weights are downloaded. The SE block is ``model.se_explain`` (see ``asd_explain.se.attach_se``).
    ``output_stride`` 16 (ResNets only) halves the stride of the last stage (see ``set_output_stride``).
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r} (valid: {', '.join(ARCHS)})")
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    set_output_stride(model, output_stride)
    if se:
        attach_se(model, reduction=reduction)
    return model


def load_classifier(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a classifier saved by the image recipe; returns (model in eval mode, checkpoint dict)."""
    from ..train.checkpoint import read_checkpoint_file

    ckpt = read_checkpoint_file(checkpoint, expected_format=CHECKPOINT_FORMAT)
    cfg = ckpt["config"]
    model = build_classifier(
        cfg["model"]["arch"], int(ckpt["num_classes"]), se=bool(cfg["model"]["se"]),
        reduction=int(cfg["model"]["reduction"]),
        output_stride=int(cfg["model"].get("output_stride") or 32),  # checkpoints before the option: 32
    )
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"{checkpoint}: weights do not fit {cfg['model']['arch']} ({first})") from None
    return model.to(device).eval(), ckpt
