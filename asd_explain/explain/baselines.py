"""The grad-cam baselines behind the same ``Explainer`` interface as the SE explainer, and a registry.

``make_explainer(name, model, target_layer=None, **opts)`` builds any of ``EXPLAINER_NAMES``:
``se`` (one forward, ``SEExplainer``) and the pytorch-grad-cam methods gradcam, gradcam++,
eigengradcam, fullgrad, eigencam, layercam, scorecam (the ``grad-cam`` package does the work; this
module only chooses the layer, the targets and the output size, and releases the hooks).

Default target layer: the output of the model's SE block (``model.se_explain``), i.e. the same
SE-scaled feature map the SE explainer reads; without an SE block, the last conv feature map (found
with a probe forward on the first batch). FullGrad ignores the layer (it uses every Conv2d /
BatchNorm2d bias). grad-cam's hooks are put on the model for one ``explain`` call and released at
its end (so several explainers can share a model without recording each other's forwards);
``close()`` / leaving a ``with`` block releases anything left, and exceptions are never swallowed
(grad-cam's own ``with`` form swallows IndexError, so it is not used). grad-cam runs the model in
eval mode; the train/eval flags are restored after each call.
"""
from __future__ import annotations

import difflib
from typing import Any, Callable, Sequence

import numpy as np
import torch
from pytorch_grad_cam import (
    EigenCAM,
    EigenGradCAM,
    FullGrad,
    GradCAM,
    GradCAMPlusPlus,
    LayerCAM,
    ScoreCAM,
)
from torch import nn

from ..se.attach import SE_NAME, find_feature_layer
from ..se.block import SqueezeExcite
from .base import ClassTarget, Explainer, Explanation, Target
from .se_explainer import SEExplainer

GRAD_CAM_METHODS: dict[str, type] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "eigengradcam": EigenGradCAM,
    "fullgrad": FullGrad,
    "eigencam": EigenCAM,
    "layercam": LayerCAM,
    "scorecam": ScoreCAM,
}
EXPLAINER_NAMES: tuple[str, ...] = ("se", *GRAD_CAM_METHODS)
_FIXED_2D = ("fullgrad", "scorecam")  # grad-cam implements these for 4-D (B, C, H, W) inputs only


class PredictedClass:
    """Target = the class the model predicts for this sample (per frame for (T, K) outputs).

    Used when no targets are given, so gradient methods need no extra forward to find the class.
    """

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        classes = output.detach().argmax(dim=-1, keepdim=True)
        return output.gather(-1, classes).sum()


class GradCamExplainer(Explainer):
    """One pytorch-grad-cam method as an ``Explainer``.

    Args:
        method: a key of ``GRAD_CAM_METHODS``.
        model: the model (any ``nn.Module`` taking one tensor; see ``multi_input.InputView``).
        target_layer: a module or its dotted name (None: see the module docstring).
        out_size: map size, (H, W) or (T, H, W) for video; None = the input's last two axes (4-D
            input) or the last three (5-D (B, C, T, H, W) input).
        reshape_transform: passed to grad-cam (e.g. token grids of vision transformers).
        scorecam_batch_size: masked inputs per forward in ScoreCAM.
    ``explain(x, targets)`` returns maps (B, *out_size) in [0, 1] (grad-cam min-max scales each
    sample) and the logits of the forward grad-cam ran.
    """

    def __init__(
        self,
        method: str,
        model: nn.Module,
        target_layer: str | nn.Module | None = None,
        *,
        out_size: Sequence[int] | None = None,
        reshape_transform: Callable | None = None,
        scorecam_batch_size: int = 64,
    ) -> None:
        if method not in GRAD_CAM_METHODS:
            raise ValueError(f"unknown method {method!r} (valid: {', '.join(EXPLAINER_NAMES)})")
        self.name = method
        self.model = model
        self.out_size = None if out_size is None else tuple(int(v) for v in out_size)
        self.reshape_transform = reshape_transform
        self.scorecam_batch_size = scorecam_batch_size
        self._cam: Any = None
        self.layer = resolve_layer(model, target_layer) if target_layer is not None else default_layer(model)

    def _make_cam(self) -> Any:
        """A grad-cam object: its hooks live only for one ``explain`` call, so explainers sharing a
        model never record each other's forwards (nor the metric's)."""
        cls = GRAD_CAM_METHODS[self.name]
        layers = [] if self.name == "fullgrad" else [self.layer]
        cam = cls(self.model, target_layers=layers, reshape_transform=self.reshape_transform)
        if self.name == "scorecam":
            cam.batch_size = self.scorecam_batch_size
        return cam

    def explain(self, inputs: torch.Tensor, targets: Sequence[Target] | None = None) -> Explanation:
        if self.name in _FIXED_2D and inputs.dim() != 4:
            raise ValueError(f"{self.name} (grad-cam) supports (B, C, H, W) inputs only, got {tuple(inputs.shape)}")
        if self.layer is None and self.name != "fullgrad":  # no SE block, no layer given: probe this input
            name = find_feature_layer(self.model, inputs[:1]).name
            self.layer = dict(self.model.named_modules())[name]
        if targets is not None and len(targets) != inputs.shape[0]:
            raise ValueError(f"{len(targets)} targets for a batch of {inputs.shape[0]}")
        if not any(p.requires_grad for p in self.model.parameters()):
            inputs = inputs.detach().requires_grad_(True)  # frozen model: gradients must still flow
        modes = {m: m.training for m in self.model.modules()}
        self._cam = cam = self._make_cam()  # grad-cam switches the model to eval mode
        cam.get_target_width_height = _grad_cam_size(cam, self.out_size or _input_size(inputs))
        try:
            targets = list(targets) if targets is not None else self._default_targets(inputs)
            with torch.enable_grad():
                maps = cam(input_tensor=inputs, targets=targets)
            logits = cam.outputs.detach()
        finally:
            cam.activations_and_grads.release()
            cam.outputs, self._cam = None, None
            self.model.zero_grad(set_to_none=True)
            for module, mode in modes.items():
                module.train(mode)
        maps_t = torch.from_numpy(np.ascontiguousarray(maps)).to(inputs.device)
        if maps_t.shape[0] != inputs.shape[0]:  # frames folded into the batch by the model
            maps_t = maps_t.reshape(inputs.shape[0], -1, *maps_t.shape[1:])
        return Explanation(maps=maps_t, logits=logits, extras={"target_layer": self.layer_name})

    @property
    def layer_name(self) -> str | None:
        if self.name == "fullgrad":
            return "all Conv2d/BatchNorm2d biases"
        names = {m: n for n, m in self.model.named_modules()}
        return names.get(self.layer)

    def _default_targets(self, inputs: torch.Tensor) -> list[Target]:
        if self.name != "scorecam":
            return [PredictedClass() for _ in range(inputs.shape[0])]
        with torch.no_grad():  # ScoreCAM scores masked inputs: fix the clean class first
            classes = self.model(inputs).argmax(dim=-1)
        if classes.dim() != 1:
            raise ValueError("scorecam needs (B, K) outputs for its default targets; pass targets")
        return [ClassTarget(int(c)) for c in classes]

    def close(self) -> None:
        """Hooks exist only inside ``explain``; this releases them if a call was interrupted."""
        if self._cam is not None:
            self._cam.activations_and_grads.release()
            self._cam = None


def _grad_cam_size(cam: Any, out_size: tuple[int, ...]) -> Callable:
    """grad-cam wants (W, H) for 2-D cams and (W, H, T) for 3-D cams (reversed axis order)."""
    acts = cam.activations_and_grads

    def size(_input: torch.Tensor) -> tuple[int, ...]:
        cam_dims = acts.activations[0].dim() - 2 if acts.activations else len(out_size)
        return tuple(reversed(out_size[-cam_dims:])) if cam_dims == 2 else tuple(reversed(out_size))

    return size


def _input_size(inputs: torch.Tensor) -> tuple[int, ...]:
    if inputs.dim() == 4:
        return tuple(inputs.shape[-2:])
    if inputs.dim() == 5:
        return tuple(inputs.shape[-3:])
    raise ValueError(f"pass out_size for inputs of shape {tuple(inputs.shape)}")


def default_layer(model: nn.Module) -> nn.Module | None:
    """``model.se_explain`` (or the only SqueezeExcite inside); None = find it with a probe forward."""
    block = getattr(model, SE_NAME, None)
    if isinstance(block, SqueezeExcite):
        return block
    blocks = [m for m in model.modules() if isinstance(m, SqueezeExcite)]
    return blocks[0] if len(blocks) == 1 else None


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """A module of ``model`` by dotted name; unknown names -> error listing the layers that exist."""
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        if all(m is not layer for m in modules.values()):
            raise ValueError(f"target layer {type(layer).__name__} is not a module of {type(model).__name__}")
        return layer
    if layer in modules and layer:
        return modules[layer]
    prefixed = f"model.{layer}"  # names relative to the model inside an InputView
    if prefixed in modules:
        return modules[prefixed]
    raise ValueError(f"no target layer {layer!r} in {type(model).__name__}; {_layer_hint(model, layer)}")


def _layer_hint(model: nn.Module, wanted: str) -> str:
    names = [n for n, _ in model.named_modules() if n]
    top = [n for n, _ in model.named_children()]
    deepest = [n for n, m in model.named_modules() if n and not list(m.children())]
    near = ", ".join(deepest[-6:])
    close = difflib.get_close_matches(wanted, names, n=3)
    hint = f"its layers: {', '.join(top)} (last leaf layers: {near}; dotted names work)"
    return hint + (f"; did you mean {', '.join(close)}?" if close else "")


def make_explainer(name: str, model: nn.Module, target_layer: str | nn.Module | None = None, **opts) -> Explainer:
    """Build an explainer by name (``EXPLAINER_NAMES``); ``opts`` go to its class.

    For ``se``, ``target_layer`` may name the SqueezeExcite block to read (default: the model's).
    """
    key = name.strip().lower()
    if key not in EXPLAINER_NAMES:
        raise ValueError(f"unknown explainer {name!r} (valid: {', '.join(EXPLAINER_NAMES)})")
    if key == "se":
        block = None
        if target_layer is not None:
            block = resolve_layer(model, target_layer)
            if not isinstance(block, SqueezeExcite):
                raise ValueError(f"the se explainer reads a SqueezeExcite block; {target_layer!r} is a "
                                 f"{type(block).__name__}")
        return SEExplainer(model, se=block, **opts)
    return GradCamExplainer(key, model, target_layer, **opts)


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """'se,gradcam' or a list -> validated lowercase names (unknown -> error listing valid ones)."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in EXPLAINER_NAMES]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r} (valid: {', '.join(EXPLAINER_NAMES)})")
    if not names:
        raise ValueError(f"no methods given (valid: {', '.join(EXPLAINER_NAMES)})")
    return list(dict.fromkeys(names))
