"""One interface for every explainer: a batch (+ optional targets) in, maps out.

An explainer is also a context manager: leaving the ``with`` block releases whatever hooks it put on
the model, and never swallows the exception that ended the block.

Image explainers take an image tensor and return ``maps`` as one tensor. Audio-visual explainers
(``av_explainers.AV_EXPLAINERS``: the SE variants and the grad-cam family) take a collate-style batch dict
and return the same ``Explanation`` with ``maps`` per modality and, where they measure it, the modality
``importance``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

Target = Callable[[torch.Tensor], torch.Tensor]
"""A target maps one sample's model output (e.g. logits (K,)) to the scalar to explain."""


@dataclass
class ClassTarget:
    """Explain the score of class ``index`` (the logit, as grad-cam's ClassifierOutputTarget)."""

    index: int

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return output[..., self.index]


@dataclass
class Explanation:
    """What an explainer returns.

    maps: (B, *out_size) in [0, 1] for a single-input model; for the audio-visual model, per modality in
        the batch's layout: {"face": (B, T, Hf, Wf), "body": (B, T, Hb, Wb), "audio": (B, 4T, F)};
    logits: the model output of the same forward when there was one ((B, T, 2) for the AV model);
    importance: {kind: {modality: (B, T)}} modality importance per frame (``importance.py``; empty when
        the explainer does not measure it);
    extras: what else a method knows (SE: excitation, kept channels, thresholds; times).
    """

    maps: torch.Tensor | dict[str, torch.Tensor]
    logits: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)


class Explainer(ABC):
    """Base class. Subclasses implement ``explain``; ``close`` releases hooks (idempotent)."""

    name: str = "explainer"

    @abstractmethod
    def explain(self, inputs: Any, targets: Sequence[Target] | None = None) -> Explanation:
        """Explain a batch (a tensor, or a batch dict for the AV model). ``targets`` (one per sample)
        default to the predicted class."""

    def __call__(self, inputs: Any, targets: Sequence[Target] | None = None) -> Any:
        return self.explain(inputs, targets).maps

    def close(self) -> None:  # noqa: B027 (optional hook, default: nothing to release)
        """Release hooks; the default has none."""

    def __enter__(self) -> "Explainer":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        return False
