"""Explain one input of a multi-input model (face + body + audio) with single-input tools.

grad-cam, the deletion/insertion metric and the explainers all call ``model(x)`` with ONE tensor. An
audio-visual model takes a batch dict ``{"face": (B, T, C, H, W), "body": (B, T, C, H, W),
"audio": (B, F, T_audio) or (B, 1, F, T_audio)}`` and returns per-frame logits (B, T, 2).
``InputView(model, batch, "face")`` is an ``nn.Module`` whose ``forward(face)`` puts ``face`` into a
copy of the batch (the other inputs are closed over, unchanged) and runs the model, so every
single-input tool works on it unchanged:

    view = InputView(av_model, batch, "face")
    with make_explainer("gradcam", view, "face_encoder.se", out_size=view.map_size()) as explainer:
        maps = explainer(batch["face"], targets=frame_targets(1, batch_size=B))  # (B, T, H, W)
    curves = deletion_insertion(view, batch["face"], maps)                    # per frame, all at once

A batch of another size than B (deletion/insertion forwards chunks of perturbed copies of chosen
samples) needs to know which sample each row is: ``view.for_samples(rows)`` returns a view that
indexes the closed-over inputs with ``rows``; ``deletion_insertion`` calls it by itself for any model
that has ``for_samples``. Any other batch size is an error, never a guess.

Targets for per-frame outputs (T, K) of one sample: ``FrameTarget(classes, frames)`` sums the logits
of the given class (one int, or one class per frame) over the chosen frames (all by default), so a
gradient method explains "speaking in frames 3..5" or "the predicted class of every frame".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from torch import nn


class InputView(nn.Module):
    """``model`` seen as a function of ``batch[key]`` alone; other entries of ``batch`` stay fixed.

    Args:
        model: takes a dict like ``batch`` (the wrapped model is the submodule ``model``, so layer
            names given relative to it, e.g. "face_encoder.se", resolve in ``make_explainer``).
        batch: the full input dict, every tensor with the batch size B first.
        key: the entry the view exposes.
        time_dim: for 5-D video inputs, the axis of frames (1 for (B, T, C, H, W), 2 for (B, C, T, H, W)).
    """

    def __init__(self, model: nn.Module, batch: Mapping[str, torch.Tensor], key: str, *, time_dim: int = 1) -> None:
        super().__init__()
        if key not in batch:
            raise KeyError(f"input {key!r} not in the batch (inputs: {', '.join(batch)})")
        self.model = model
        self.key = key
        self.time_dim = time_dim
        self.batch = dict(batch)
        self._rows: torch.Tensor | None = None  # which sample each row of x belongs to

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = self.batch[self.key]
        if x.shape[1:] != full.shape[1:]:
            raise ValueError(f"{self.key}: got shape {tuple(x.shape)}, the batch has {tuple(full.shape)}")
        rows = self._rows_for(x.shape[0], full.shape[0])
        inputs = {k: (v if rows is None else v[rows]) for k, v in self.batch.items() if k != self.key}
        inputs[self.key] = x
        return self.model(inputs)

    def _rows_for(self, n: int, batch_size: int) -> torch.Tensor | None:
        if self._rows is not None:
            if len(self._rows) != n:
                raise ValueError(f"{self.key}: {n} rows but for_samples() chose {len(self._rows)}")
            return self._rows
        if n == batch_size:
            return None
        raise ValueError(
            f"{self.key}: a batch of {n} does not match the {batch_size} closed-over samples; "
            "use for_samples(indices) to say which sample each row is"
        )

    def for_samples(self, rows: torch.Tensor | Sequence[int]) -> "InputView":
        """A view whose next inputs are copies of samples ``rows`` (one index per input row)."""
        view = InputView(self.model, self.batch, self.key, time_dim=self.time_dim)
        view._rows = torch.as_tensor(rows, dtype=torch.long)
        return view

    def map_size(self) -> tuple[int, ...]:
        """The heatmap size of this input: (T, H, W) for video, (H, W) for images, (F, T) for spectrograms."""
        x = self.batch[self.key]
        if x.dim() == 5:
            spatial = tuple(x.shape[-2:])
            return (x.shape[self.time_dim], *spatial)
        if x.dim() in (3, 4):
            return tuple(x.shape[-2:])
        raise ValueError(f"{self.key}: no map size for an input of shape {tuple(x.shape)}")


@dataclass
class FrameTarget:
    """Target for one sample's per-frame output (T, K): sum over ``frames`` of the ``classes`` logit.

    classes: one class for all frames, or a sequence/tensor with one class per frame (length T).
    frames: None (all), an int, a slice, or a sequence of frame indices.
    """

    classes: int | Sequence[int] | torch.Tensor
    frames: int | slice | Sequence[int] | None = None

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if output.dim() != 2:
            raise ValueError(f"FrameTarget expects one sample's (T, K) output, got {tuple(output.shape)}")
        length = output.shape[0]
        classes = torch.as_tensor(self.classes, device=output.device, dtype=torch.long)
        if classes.dim() == 0:
            classes = classes.expand(length)
        if classes.shape[0] != length:
            raise ValueError(f"FrameTarget: {classes.shape[0]} classes for {length} frames")
        chosen = torch.arange(length, device=output.device)
        if self.frames is not None:
            chosen = chosen[self.frames] if not isinstance(self.frames, Sequence) else chosen[list(self.frames)]
        chosen = chosen.reshape(-1)
        return output[chosen, classes[chosen]].sum()


def frame_targets(classes: int | torch.Tensor, batch_size: int, frames=None) -> list[FrameTarget]:
    """One FrameTarget per sample: ``classes`` an int, or a (B, T) tensor of per-frame classes."""
    if isinstance(classes, int):
        return [FrameTarget(classes, frames) for _ in range(batch_size)]
    if classes.shape[0] != batch_size:
        raise ValueError(f"{classes.shape[0]} rows of classes for a batch of {batch_size}")
    return [FrameTarget(row, frames) for row in classes]
