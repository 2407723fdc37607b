"""Deletion and Insertion (RISE, Petsiuk et al. 2018): how fast the score falls / rises as the most
salient pixels are removed / put back.

Definition (REFERENCE section 5, the settings of RISE's reference code):
  - score = softmax probability of the class the model predicts on the clean input (top-1);
  - pixels are ordered by saliency, highest first (ties: lower flat index first); each step changes
    the next ``step`` pixels, in all channels;
  - deletion starts from the input and replaces pixels with 0 (in the normalised space the model
    sees); insertion starts from a Gaussian-blurred input (11 x 11 kernel, sigma 5, zero padding) and
    puts the original pixels back;
  - n_steps = ceil(H * W / step) gives n_steps + 1 scores (0, step, 2 step, ... pixels changed, the
    last step capped at H * W); AUC = (sum - first / 2 - last / 2) / n_steps.
Lower deletion and higher insertion are better.

Inputs (the channel axis is found by comparing shapes, or given as ``channel_dim``):
  - images        x (B, C, H, W),    maps (B, H, W);
  - video crops   x (B, T, C, H, W), maps (B, T, H, W): each frame is ranked by its own map and
                  all frames are perturbed at once (step k changes k * step pixels of every frame);
  - spectrograms  x (B, F, T),       maps (B, F, T): "pixels" are time-frequency bins.
The model is any callable from a perturbed batch to logits (or probabilities) of shape (N, K), or
(N, ..., K) for per-frame outputs (the score is then the mean over frames of each frame's
probability of its clean top-1 class). Every curve point is an independent input, so all the
(sample, step) pairs are cut into chunks of ``batch_size`` and each chunk is one forward. A model
that closes over other inputs of each sample (``explain.multi_input.InputView``) has
``for_samples(rows)``, which is called with the sample index of every row of a chunk.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F

Baseline = Literal["zero", "blur"]
ModelFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class CausalSettings:
    """How the curves are made; saved with every number.

    step: pixels changed per step (per frame for video); None = the width of the input (RISE used
        step 224 on 224 x 224 images, i.e. one row's worth of pixels per step).
    steps: instead of ``step``, the number of steps: step = ceil(H * W / steps).
    deletion_baseline / insertion_baseline: what deleted pixels become / where insertion starts:
        "zero" (0 in normalised space) or "blur" (Gaussian, ``blur_kernel`` x ``blur_kernel``,
        ``blur_sigma``).
    output: "logits" (softmax is applied over the last axis) or "probs" (used as they are).
    batch_size: perturbed inputs per forward.
    """

    step: int | None = None
    steps: int | None = None
    deletion_baseline: Baseline = "zero"
    insertion_baseline: Baseline = "blur"
    blur_kernel: int = 11
    blur_sigma: float = 5.0
    output: Literal["logits", "probs"] = "logits"
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.step is not None and self.step < 1:
            raise ValueError(f"step must be >= 1 pixel, got {self.step}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.step is not None and self.steps is not None:
            raise ValueError("give step (pixels per step) or steps (number of steps), not both")
        for name in ("deletion_baseline", "insertion_baseline"):
            if getattr(self, name) not in ("zero", "blur"):
                raise ValueError(f"{name} must be 'zero' or 'blur', got {getattr(self, name)!r}")
        if self.output not in ("logits", "probs"):
            raise ValueError(f"output must be 'logits' or 'probs', got {self.output!r}")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be a positive odd number, got {self.blur_kernel}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


@dataclass
class CausalCurves:
    """Deletion and insertion curves of a batch.

    deletion, insertion: (B, n_steps + 1) scores; deletion_auc, insertion_auc: (B,);
    classes: the clean top-1 class, (B,) or (B, ...) for per-frame outputs; step: pixels per step.
    """

    deletion: torch.Tensor
    insertion: torch.Tensor
    deletion_auc: torch.Tensor
    insertion_auc: torch.Tensor
    classes: torch.Tensor
    step: int
    settings: CausalSettings

    def settings_dict(self) -> dict:
        return {**asdict(self.settings), "step": self.step}


def curve_auc(curve: torch.Tensor) -> torch.Tensor:
    """Trapezoid area of curves (..., n + 1) over fractions evenly spread on [0, 1] -> (...)."""
    n_steps = curve.shape[-1] - 1
    if n_steps < 1:
        raise ValueError(f"a curve needs at least 2 points, got {curve.shape[-1]}")
    return (curve.sum(-1) - curve[..., 0] / 2 - curve[..., -1] / 2) / n_steps


def gaussian_blur(planes: torch.Tensor, kernel: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """Blur the last two axes of ``planes`` (..., H, W) with a normalised Gaussian, zero padding."""
    offsets = torch.arange(kernel, dtype=planes.dtype, device=planes.device) - kernel // 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    weights = weights / weights.sum()
    shape = planes.shape
    flat = planes.reshape(-1, 1, *shape[-2:])
    flat = F.conv2d(flat, weights.view(1, 1, 1, kernel), padding=(0, kernel // 2))
    flat = F.conv2d(flat, weights.view(1, 1, kernel, 1), padding=(kernel // 2, 0))
    return flat.reshape(shape)


def deletion_insertion(
    model: ModelFn,
    inputs: torch.Tensor,
    maps: torch.Tensor,
    settings: CausalSettings | None = None,
    *,
    channel_dim: int | None = None,
    classes: torch.Tensor | None = None,
) -> CausalCurves:
    """Deletion and insertion curves + AUCs for a batch (see the module docstring for shapes).

    ``classes`` overrides the clean top-1 class (shape of the model output without its last axis).
    """
    settings = settings or CausalSettings()
    layout = _Layout.of(inputs, maps, channel_dim)
    x = layout.to_planes(inputs)  # (B, C, G, H, W)
    ranks = _pixel_ranks(maps.reshape(x.shape[0], x.shape[2], -1))  # (B, G, U)
    units = ranks.shape[-1]
    step = settings.step or (math.ceil(units / settings.steps) if settings.steps else inputs.shape[-1])
    n_steps = math.ceil(units / step)
    with torch.no_grad():
        clean = _probabilities(model(inputs), settings.output)
        if classes is None:
            classes = clean.argmax(dim=-1)
        blurred = gaussian_blur(x, settings.blur_kernel, settings.blur_sigma)
        zero = torch.zeros_like(x)
        base = {"zero": zero, "blur": blurred}
        deletion = _curve(model, layout, x, base[settings.deletion_baseline], ranks, step, n_steps,
                          classes, settings)
        insertion = _curve(model, layout, base[settings.insertion_baseline], x, ranks, step, n_steps,
                           classes, settings)
    return CausalCurves(
        deletion=deletion, insertion=insertion, deletion_auc=curve_auc(deletion),
        insertion_auc=curve_auc(insertion), classes=classes, step=step, settings=settings,
    )


def _curve(
    model: ModelFn, layout: "_Layout", start: torch.Tensor, finish: torch.Tensor, ranks: torch.Tensor,
    step: int, n_steps: int, classes: torch.Tensor, settings: CausalSettings,
) -> torch.Tensor:
    """Scores (B, n_steps + 1): point k takes the k * step top-ranked pixels from ``finish``."""
    batch = start.shape[0]
    pairs = [(b, k) for b in range(batch) for k in range(n_steps + 1)]
    scores = torch.empty(batch, n_steps + 1)
    for first in range(0, len(pairs), settings.batch_size):
        chunk = pairs[first:first + settings.batch_size]
        b_idx = torch.tensor([b for b, _ in chunk], device=start.device)
        changed = torch.tensor([k * step for _, k in chunk], device=start.device)
        swap = ranks[b_idx] < changed[:, None, None]  # (N, G, U)
        swap = swap.view(len(chunk), 1, *start.shape[2:])  # (N, 1, G, H, W)
        perturbed = torch.where(swap, finish[b_idx], start[b_idx])
        chunk_model = model.for_samples(b_idx) if hasattr(model, "for_samples") else model
        probs = _probabilities(chunk_model(layout.from_planes(perturbed)), settings.output)
        picked = probs.gather(-1, classes[b_idx].unsqueeze(-1)).squeeze(-1)
        scores[b_idx.cpu(), changed.cpu() // step] = picked.reshape(len(chunk), -1).mean(1).float().cpu()
    return scores


def _probabilities(output: torch.Tensor, kind: str) -> torch.Tensor:
    if output.dim() < 2:
        raise ValueError(f"the model must return (N, K) or (N, ..., K) scores, got shape {tuple(output.shape)}")
    return output.softmax(dim=-1) if kind == "logits" else output


def _pixel_ranks(maps: torch.Tensor) -> torch.Tensor:
    """maps (B, G, U) -> rank of every unit in its group, 0 = most salient (stable for ties)."""
    order = torch.sort(maps.float(), dim=-1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    positions = torch.arange(order.shape[-1], device=order.device).expand_as(order)
    return ranks.scatter_(-1, order, positions)


@dataclass
class _Layout:
    """Where the channel axis of the input is, so inputs can move to (B, C, G, H, W) and back."""

    shape: tuple[int, ...]
    channel_dim: int | None  # None: no channel axis (maps have the input's shape)

    @classmethod
    def of(cls, inputs: torch.Tensor, maps: torch.Tensor, channel_dim: int | None) -> "_Layout":
        ishape, mshape = tuple(inputs.shape), tuple(maps.shape)
        if maps.dim() < 3:
            raise ValueError(f"maps must be (B, H, W), (B, T, H, W) or (B, F, T), got {mshape}")
        if channel_dim is not None:
            dim = channel_dim % inputs.dim()
            if ishape[:dim] + ishape[dim + 1:] != mshape:
                raise ValueError(f"input {ishape} without axis {dim} is not the map size {mshape}")
            return cls(ishape, dim)
        if ishape == mshape:
            return cls(ishape, None)
        found = [d for d in range(1, inputs.dim()) if ishape[:d] + ishape[d + 1:] == mshape]
        if not found:
            raise ValueError(
                f"map size {mshape} does not fit input size {ishape}: expected the input's shape "
                "without its channel axis (or the same shape for spectrograms)"
            )
        if len(found) > 1 and any(ishape[d] != 1 for d in found):
            raise ValueError(f"input {ishape} vs map {mshape}: channel axis ambiguous, pass channel_dim")
        return cls(ishape, found[0])

    def to_planes(self, x: torch.Tensor) -> torch.Tensor:
        if self.channel_dim is None:
            x = x.unsqueeze(1)
        else:
            x = x.movedim(self.channel_dim, 1)
        b, c = x.shape[:2]
        return x.reshape(b, c, -1, *x.shape[-2:])

    def from_planes(self, planes: torch.Tensor) -> torch.Tensor:
        n = planes.shape[0]
        if self.channel_dim is None:
            return planes.reshape(n, *self.shape[1:])
        moved = list(self.shape[1:])
        channels = moved.pop(self.channel_dim - 1)
        x = planes.reshape(n, channels, *moved)
        return x.movedim(1, self.channel_dim)
