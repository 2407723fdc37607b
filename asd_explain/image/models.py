"""Image classifiers: any torchvision CNN, with or without one SE block before its pooling."""
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


def build_classifier(arch: str, num_classes: int, *, se: bool = True, reduction: int = 16) -> nn.Module:
    """A randomly initialised torchvision ``arch`` with ``num_classes`` outputs, plus an SE block when ``se``.

    No weights are downloaded. The SE block is ``model.se_explain`` (see ``asd_explain.se.attach_se``).
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r} (valid: {', '.join(ARCHS)})")
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    if se:
        attach_se(model, reduction=reduction)
    return model


def load_classifier(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a classifier saved by the image recipe; returns (model in eval mode, checkpoint dict)."""
    from ..train_utils import load_checkpoint_file

    ckpt = load_checkpoint_file(checkpoint, expected_format=CHECKPOINT_FORMAT)
    cfg = ckpt["config"]
    model = build_classifier(
        cfg["model"]["arch"], int(ckpt["num_classes"]), se=bool(cfg["model"]["se"]),
        reduction=int(cfg["model"]["reduction"]),
    )
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"{checkpoint}: weights do not fit {cfg['model']['arch']} ({first})") from None
    return model.to(device).eval(), ckpt
