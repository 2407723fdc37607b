"""Attach one SE block before the global pooling of any CNN, without editing its code or weights.

The block runs as a forward hook on the module that produces the last convolutional feature map
(``layer4`` of a ResNet, ``features`` of MobileNet/EfficientNet/DenseNet/VGG/ConvNeXt, ...): the hook
returns ``se(feature_map)``, so everything after it (pooling, classifier) sees the SE-scaled map.
The block is registered as the submodule ``se_explain`` of the model, so its weights travel with
``model.state_dict()`` while every original key and value stays as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .block import Squeeze, SqueezeExcite

SE_NAME = "se_explain"
_POOLING = (
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
)


@dataclass
class FeatureLayer:
    """A module whose output is a conv feature map, as seen in a probe forward."""

    name: str
    shape: tuple[int, ...]

    @property
    def channels(self) -> int:
        return self.shape[1]


@dataclass
class SEAttachment:
    """Handle on an attached SE block: ``se`` is the block, ``layer_name`` the hooked module."""

    model: nn.Module
    se: SqueezeExcite
    layer_name: str
    _handle: RemovableHandle | None = field(default=None, repr=False)

    def remove(self) -> None:
        """Detach: remove the hook and the ``se_explain`` submodule (the model is as before)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if getattr(self.model, SE_NAME, None) is self.se:
            delattr(self.model, SE_NAME)


def feature_map_layers(model: nn.Module, example_input: torch.Tensor) -> list[FeatureLayer]:
    """List the modules whose output is a conv feature map, in the order their forwards finish.

    A feature map is a floating tensor of shape (B, C, H, W) or (B, C, T, H, W) with more than one
    spatial position; pooling layers are skipped. The probe runs in eval mode without gradients and
    restores the model's train/eval flags afterwards.
    """
    seen: list[FeatureLayer] = []
    handles = []

    def make_hook(name: str):
        def hook(module: nn.Module, _inputs, output) -> None:
            if isinstance(module, _POOLING) or not isinstance(output, torch.Tensor):
                return
            if output.dim() in (4, 5) and output.is_floating_point() and output[0, 0].numel() > 1:
                seen.append(FeatureLayer(name, tuple(output.shape)))
        return hook

    for name, module in model.named_modules():
        if name and SE_NAME not in name.split("."):
            handles.append(module.register_forward_hook(make_hook(name)))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(example_input)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.train(mode)
    return seen


def find_feature_layer(model: nn.Module, example_input: torch.Tensor | None = None) -> FeatureLayer:
    """The last conv feature map before global pooling / the classifier (see ``feature_map_layers``)."""
    if example_input is None:
        example_input = _default_input(model)
    layers = feature_map_layers(model, example_input)
    if not layers:
        raise ValueError(
            f"{type(model).__name__}: no conv feature map to attach an SE block to; looked for a module "
            f"whose output is (B, C, H, W) or (B, C, T, H, W) with more than one spatial position "
            f"(pooling layers excluded) in a forward of shape {tuple(example_input.shape)}; "
            "pass layer=<module name> or another example_input"
        )
    return layers[-1]


def attach_se(
    model: nn.Module,
    *,
    layer: str | None = None,
    reduction: int = 16,
    squeeze: Squeeze = "sample",
    example_input: torch.Tensor | None = None,
) -> SEAttachment:
    """Put one SE block on the output of ``layer`` (default: found automatically) and return its handle.

    Original parameters are untouched; the block is new (``model.se_explain``) and trainable.
    Example: ``att = attach_se(torchvision.models.resnet18(num_classes=10))`` hooks ``layer4``.
    """
    if isinstance(model, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        raise TypeError(
            f"attach_se: the root model is a {type(model).__name__}, whose forward would run an added "
            "child; wrap it in an nn.Module first"
        )
    if hasattr(model, SE_NAME):
        raise ValueError(f"attach_se: {type(model).__name__} already has an SE block ({SE_NAME})")
    modules = dict(model.named_modules())
    if example_input is None:
        example_input = _default_input(model)
    if layer is None:
        found = find_feature_layer(model, example_input)
    else:
        if layer not in modules or not layer:
            raise ValueError(
                f"attach_se: no module named {layer!r} in {type(model).__name__}; feature-map modules: "
                + ", ".join(f.name for f in feature_map_layers(model, example_input)[-8:])
            )
        matches = [f for f in feature_map_layers(model, example_input) if f.name == layer]
        if not matches:
            raise ValueError(f"attach_se: module {layer!r} does not output a conv feature map")
        found = matches[-1]
    se = SqueezeExcite(found.channels, reduction=reduction, squeeze=squeeze)
    param = next(model.parameters(), None)
    if param is not None:
        se.to(device=param.device, dtype=param.dtype)
    model.add_module(SE_NAME, se)
    handle = modules[found.name].register_forward_hook(lambda _m, _i, out: se(out))
    return SEAttachment(model=model, se=se, layer_name=found.name, _handle=handle)


def _default_input(model: nn.Module) -> torch.Tensor:
    param = next(model.parameters(), None)
    kwargs = {} if param is None else {"device": param.device, "dtype": param.dtype}
    return torch.zeros(1, 3, 224, 224, **kwargs)
