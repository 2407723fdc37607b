"""grad-cam baselines and causal metrics on one modality of the audio-visual ``ASDModel``.

grad-cam explains a model of ONE input tensor. ``ModalityView(model, batch, "face")`` is that model:
its input is one modality of the batch in the layout grad-cam handles, the other inputs stay fixed,
and its output is the per-frame logits:

  face / body   input (B*T, C, H, W): the clip's frames folded into the batch, output (B*T, 2), so every
                frame gets its own CAM (channel weights from its own gradients), target = that frame's
                class; the encoder's SE output (B, C, T, h, w) is read as (B*T, C, h, w) frames;
  audio         input (B, 1, F, 4T): the feature spectrogram as an image, output (B, T, 2), target =
                the sum over frames of each frame's class logit; its SE output is (B, C, F', T).

Only the explained modality's encoder is a registered submodule of the view, so FullGrad (which hooks
every Conv2d / BatchNorm2d bias of the model it is given) sums the biases of that encoder alone.
``av_explainer(name, model, batch, modality)`` builds any method of ``baselines.EXPLAINER_NAMES`` on a
view; maps come back in the layout of the batch: (B, T, H, W) for crops, (B, 4T, F) for audio.

``CachedStages(model, batch, modality)`` is the metrics' side: ``forward(x)`` runs only the chosen
modality's encoder on ``x`` (batch layout) and reuses the other modalities' embeddings, computed once,
so Deletion / Insertion curves (many perturbed forwards) cost one encoder instead of three; it has
``for_samples(rows)`` as ``multi_input.InputView`` has.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch
from pytorch_grad_cam import FullGrad
from pytorch_grad_cam.utils.image import scale_accross_batch_and_channels
from torch import nn

from ..constants import VISUAL_MODALITIES as VISUAL
from ..models.asd_model import ASDModel
from ..models.blocks import TemporalConv, sequences_as_frames
from .base import Explainer, Explanation, Target
from .baselines import GRAD_CAM_METHODS, GradCamExplainer

#: grad-cam's layer on a published model (Light-ASD, LR-ASD): the encoder's last block (its last conv
#: + BatchNorm + ReLU), the (B, 128, T, 14, 14) face / (B, 128, 13, T) MFCC map before their SE block
PUBLISHED_TARGET = "encoder.block3"


def modality_encoder(model: Any, modality: str) -> nn.Module:
    """The encoder of one modality: ``ASDModel.encoders[m]``, or a published model's visual / audio encoder."""
    if modality not in model.modalities:
        raise ValueError(f"the model has no {modality} stream (modalities: {list(model.modalities)})")
    encoders = getattr(model, "encoders", None)
    if encoders is not None:
        return encoders[modality]
    return {"face": model.visual_encoder, "audio": model.audio_encoder}[modality]


def modality_forward(model: Any, modality: str, x: torch.Tensor) -> torch.Tensor:
    """One modality's input (batch layout) -> its (B, T, D) embedding (``forward_<modality>`` of any model)."""
    return getattr(model, f"forward_{modality}")(x)


class ModalityView(nn.Module):
    """``model`` as a function of one modality (layouts in the module docstring); other inputs fixed."""

    def __init__(self, model: ASDModel, batch: Mapping[str, Any], modality: str) -> None:
        super().__init__()
        self.encoder = modality_encoder(model, modality)  # the only registered submodule
        self.__dict__["_model"] = model          # not a submodule: FullGrad / hooks see this encoder only
        self.modality = modality
        self.inputs = {m: batch[m] for m in model.modalities}
        self.shape = tuple(batch[modality].shape)

    @property
    def visual(self) -> bool:
        return self.modality in VISUAL

    def to_view(self, x: torch.Tensor) -> torch.Tensor:
        """Batch layout -> view layout: (B, T, C, H, W) -> (B*T, C, H, W); (B, 4T, F) -> (B, 1, F, 4T)."""
        return x.flatten(0, 1) if self.visual else x.transpose(1, 2).unsqueeze(1)

    def from_view(self, v: torch.Tensor) -> torch.Tensor:
        return v.reshape(self.shape) if self.visual else v[:, 0].transpose(1, 2)

    def maps_to_batch(self, maps: torch.Tensor) -> torch.Tensor:
        """View maps -> batch layout: (B*T, H, W) -> (B, T, H, W); (B, F, 4T) -> (B, 4T, F)."""
        return maps.reshape(self.shape[0], self.shape[1], *maps.shape[-2:]) if self.visual else maps.transpose(1, 2)

    def out_size(self) -> tuple[int, int]:
        """Map size in the view: (H, W) of a crop, or (F, 4T) of the spectrogram."""
        return tuple(self.shape[-2:]) if self.visual else (self.shape[2], self.shape[1])

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        logits = self._model(**{**self.inputs, self.modality: self.from_view(v)})["logits"]
        return logits.flatten(0, 1) if self.visual else logits

    @property
    def target_layer(self) -> str:
        """grad-cam's layer in the view: the toolkit's encoder SE output, or a published model's last block."""
        return "encoder.se" if hasattr(self.encoder, "se") else PUBLISHED_TARGET

    def se_reshape(self, activation: torch.Tensor) -> torch.Tensor:
        """The SE output as grad-cam should see it: visual (B, C, T, h, w) -> (B*T, C, h, w)."""
        return activation.transpose(1, 2).flatten(0, 1) if self.visual else activation


class FoldedFullGrad(FullGrad):
    """grad-cam's FullGrad on a ``ModalityView``: temporal BatchNorm2d layers, which run on the
    (B, C, T, h*w) view of the frames, have their bias gradients put back into (B*T, C, h, w) frames, and
    the BatchNorm3d layers of the published models' 3-D visual encoders (which grad-cam's FullGrad does not
    look for) are added, their (B, C, T, h, w) gradients folded into frames. Gradients are recorded per
    layer (a tensor hook on each output), so parallel paths cannot pair a gradient with another layer's bias."""

    def __init__(self, model: ModalityView, target_layers, reshape_transform=None) -> None:
        super().__init__(model, [], None)
        self._frame_size: dict[nn.Module, tuple[int, int]] = {}
        self._order: list[nn.Module] = []
        self._grads: dict[nn.Module, torch.Tensor] = {}
        extra = [m for m in model.modules() if type(m) is nn.BatchNorm3d and m.bias is not None]
        self.target_layers = list(self.target_layers) + extra
        self._bias = {layer: bias for layer, bias in zip(self.target_layers, self.bias_data, strict=False)}
        self._bias.update({layer: bias_of(layer).cpu().numpy() for layer in extra})
        for layer in self.target_layers:
            self.activations_and_grads.handles.append(layer.register_forward_hook(self._record))
        for module in model.modules():
            if isinstance(module, TemporalConv):
                hook = _frame_size_hook(self._frame_size, module.bn)
                self.activations_and_grads.handles.append(module.register_forward_pre_hook(hook))

    def _record(self, module: nn.Module, _inputs, output: torch.Tensor) -> None:
        if output.requires_grad:
            self._order.append(module)
            output.register_hook(lambda grad: self._grads.__setitem__(module, grad.detach().cpu()))

    def forward(self, input_tensor, targets, eigen_smooth=False):
        self._order, self._grads = [], {}
        return super().forward(input_tensor, targets, eigen_smooth)

    def compute_cam_per_layer(self, input_tensor, target_category, eigen_smooth):
        frames = input_tensor.shape[0]
        size = self.get_target_width_height(input_tensor)
        missing = [layer for layer in self._order if layer not in self._grads]
        if missing:
            raise RuntimeError(f"FullGrad: no gradient for {len(missing)} of {len(self._order)} bias layers")
        weighted = np.abs(input_tensor.grad.detach().cpu().numpy() * input_tensor.detach().cpu().numpy())
        parts = [scale_accross_batch_and_channels(weighted, size)]
        for layer in self._order:
            grad = self._grads[layer]
            if grad.dim() == 5:  # (B, C, T, h, w) of a 3-D encoder -> (B*T, C, h, w)
                grad = grad.transpose(1, 2).flatten(0, 1)
            elif grad.shape[0] != frames and layer in self._frame_size:  # (B, C, T, h*w) -> (B*T, C, h, w)
                grad = sequences_as_frames(grad, *self._frame_size[layer])
            bias_grad = np.abs(self._bias[layer][None, :, None, None] * grad.numpy())
            parts.append(scale_accross_batch_and_channels(bias_grad, size).sum(axis=1, keepdims=True))
        return np.concatenate(parts, axis=1).sum(axis=1, keepdims=True)


def bias_of(layer: nn.Module) -> torch.Tensor:
    """FullGrad's bias of a layer: a conv's bias, or a BatchNorm's (eval-mode) shift
    ``bias - running_mean * weight / sqrt(running_var + eps)``."""
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return (layer.bias - layer.running_mean * layer.weight / torch.sqrt(layer.running_var + layer.eps)).detach()
    return layer.bias.detach()


def _frame_size_hook(sizes: dict[nn.Module, tuple[int, int]], bn: nn.Module):
    def hook(_module: nn.Module, args: tuple) -> None:
        sizes[bn] = tuple(args[0].shape[-2:])
    return hook


class ViewExplainer(GradCamExplainer):
    """A grad-cam method on a ``ModalityView``; ``explain(x)`` takes and returns the batch layout."""

    def __init__(self, method: str, view: ModalityView) -> None:
        reshape = view.se_reshape if method != "fullgrad" else None
        super().__init__(method, view, view.target_layer if method != "fullgrad" else None, out_size=view.out_size(),
                         reshape_transform=reshape)
        self.view = view

    def _make_cam(self) -> Any:
        if self.name == "fullgrad":
            return FoldedFullGrad(self.model, [])
        return super()._make_cam()

    def explain(self, inputs: torch.Tensor, targets: Sequence[Target] | None = None) -> Explanation:
        result = super().explain(self.view.to_view(inputs), targets)
        logits = result.logits.reshape(self.view.shape[0], -1, result.logits.shape[-1])
        return Explanation(self.view.maps_to_batch(result.maps), logits, result.extras)


def av_explainer(name: str, model: ASDModel, batch: Mapping[str, Any], modality: str) -> Explainer:
    """A grad-cam method (``baselines.GRAD_CAM_METHODS``) explaining ``modality`` of ``batch``."""
    if name not in GRAD_CAM_METHODS:
        raise ValueError(f"unknown baseline {name!r} (valid: {', '.join(GRAD_CAM_METHODS)})")
    if name == "scorecam":
        raise ValueError("scorecam needs one forward per channel and image: not offered for the AV model")
    return ViewExplainer(name, ModalityView(model, batch, modality))


class CachedStages(nn.Module):
    """Per-frame logits (N, T, 2) as a function of one modality's input in batch layout, the other
    modalities' embeddings computed once (module docstring). ``offset`` is added to the input first
    (so that 0 in the metric's space is ``offset`` in the model's)."""

    def __init__(self, model: ASDModel, batch: Mapping[str, Any], modality: str,
                 offset: torch.Tensor | float = 0.0) -> None:
        super().__init__()
        self.__dict__["_model"] = model
        self.modality = modality
        self.offset = offset
        with torch.no_grad():
            self.embeddings = {m: modality_forward(model, m, batch[m]) for m in model.modalities if m != modality}
        self._rows: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        model = self._model
        rows = self._rows
        offset = self.offset if not isinstance(self.offset, torch.Tensor) or rows is None else self.offset[rows]
        embeddings = {m: (e if rows is None else e[rows]) for m, e in self.embeddings.items()}
        embeddings[self.modality] = modality_forward(model, self.modality, x + offset)
        return model.forward_head(model.forward_temporal(model.forward_fusion(embeddings)))

    def for_samples(self, rows: torch.Tensor | Sequence[int]) -> "CachedStages":
        view = CachedStages.__new__(CachedStages)
        nn.Module.__init__(view)
        view.__dict__["_model"] = self._model
        view.modality, view.offset, view.embeddings = self.modality, self.offset, self.embeddings
        view._rows = torch.as_tensor(rows, dtype=torch.long)
        return view
