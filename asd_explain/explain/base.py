"""One interface for every explainer: a batch (+ optional targets) in, maps out.

An explainer is also a context manager: leaving the ``with`` block releases whatever hooks it put on
the model, and never swallows the exception that ended the block.
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
    """maps: (B, *out_size) in [0, 1]; logits: the model output of the same forward when there was one."""

    maps: torch.Tensor
    logits: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Explainer(ABC):
    """Base class. Subclasses implement ``explain``; ``close`` releases hooks (idempotent)."""

    name: str = "explainer"

    @abstractmethod
    def explain(self, inputs: torch.Tensor, targets: Sequence[Target] | None = None) -> Explanation:
        """Explain a batch. ``targets`` (one per sample) default to the predicted class."""

    def __call__(self, inputs: torch.Tensor, targets: Sequence[Target] | None = None) -> torch.Tensor:
        return self.explain(inputs, targets).maps

    def close(self) -> None:  # noqa: B027 (optional hook, default: nothing to release)
        """Release hooks; the default has none."""

    def __enter__(self) -> "Explainer":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        return False
