"""The SE explainer: one no-grad forward gives the logits and the heatmaps of the whole batch."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..se.attach import SE_NAME
from ..se.block import SqueezeExcite
from ..se.capture import SECapture
from .base import Explainer, Explanation, Target
from .se_maps import DEFAULT_Z, Interpolation, Normalize, se_heatmaps


def find_se_block(model: nn.Module) -> SqueezeExcite:
    """The model's explaining SE block: ``model.se_explain`` if attached, else its only SqueezeExcite."""
    block = getattr(model, SE_NAME, None)
    if isinstance(block, SqueezeExcite):
        return block
    blocks = [m for m in model.modules() if isinstance(m, SqueezeExcite)]
    if len(blocks) != 1:
        raise ValueError(
            f"{type(model).__name__} has {len(blocks)} SqueezeExcite blocks; pass the one to explain with se="
        )
    return blocks[0]


@torch.no_grad()
def se_forward(model: nn.Module, inputs: torch.Tensor, se: SqueezeExcite | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One no-grad forward: (output, the SE-scaled map, the excitation) of ``se`` (default: ``find_se_block``)."""
    se = se if se is not None else find_se_block(model)
    with SECapture({"se": se}, outputs=True) as capture:
        output = model(inputs)
    if "se" not in capture.outputs:
        raise RuntimeError("the SE block did not run in the model's forward")
    return output, capture.outputs["se"], capture.gates["se"]


class SEExplainer(Explainer):
    """Heatmaps from an SE block's excitation (REFERENCE section 1), at the cost of one forward.

    Args:
        model: a model with an SE block (``attach_se`` or built in).
        se: the block to read (default: ``find_se_block(model)``).
        z, top_percent, interpolation, normalize: see ``se_heatmaps``.
        out_size: heatmap size; default: the spatial size of the input (last 2 dims, or last 3 for
            5-D video input).
    The SE map does not depend on the target: ``targets`` are accepted for interface parity.
    """

    name = "se"

    def __init__(
        self,
        model: nn.Module,
        se: SqueezeExcite | None = None,
        *,
        z: float = DEFAULT_Z,
        top_percent: float | None = None,
        interpolation: Interpolation = "bicubic",
        normalize: Normalize = "sample",
        out_size: Sequence[int] | None = None,
    ) -> None:
        self.model = model
        self.se = se if se is not None else find_se_block(model)
        self.z = z
        self.top_percent = top_percent
        self.interpolation = interpolation
        self.normalize = normalize
        self.out_size = out_size

    @torch.no_grad()
    def explain(self, inputs: torch.Tensor, targets: Sequence[Target] | None = None) -> Explanation:
        logits, scaled, excitation = se_forward(self.model, inputs, self.se)
        return self.from_block_output(scaled, excitation, inputs.shape, logits)

    def from_block_output(
        self,
        scaled: torch.Tensor,
        excitation: torch.Tensor,
        input_shape: Sequence[int],
        logits: torch.Tensor | None = None,
    ) -> Explanation:
        """Maps from an SE output already computed (used by multi-stage models)."""
        out_size = self.out_size
        if out_size is None:
            out_size = tuple(input_shape[-3:]) if scaled.dim() == 5 else tuple(input_shape[-2:])
            if scaled.dim() == 3:
                out_size = tuple(input_shape[-1:])
        result = se_heatmaps(
            scaled, excitation, out_size, z=self.z, top_percent=self.top_percent,
            interpolation=self.interpolation, normalize=self.normalize,
        )
        extras = {"excitation": result.excitation, "kept": result.kept, "threshold": result.threshold}
        return Explanation(maps=result.maps, logits=logits, extras=extras)
