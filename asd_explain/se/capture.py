"""Read SE gates and outputs during a forward with hooks that live only inside a ``with`` block.

    with SECapture(model.se_blocks()) as capture:       # or SECapture({"se": block}), outputs=True, graph=True
        logits = model(x)
    capture.gates["face"]     # (B, C) or (B, C, T): the excitation the forward used
    capture.outputs["face"]   # the SE-scaled map (only with outputs=True)

Gates are detached unless ``graph=True`` (a loss on the gate, e.g. ``train.gate_l1``). Each capture records
only the forwards of the thread that opened it, so several threads can explain with one model at once,
each inside its own ``with``. Leaving the block removes every hook; an exception raised inside it
propagates unchanged. A block run several times in one forward keeps its last call.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .block import SqueezeExcite


class SECapture:
    """Forward hooks on SE blocks (by name); ``gates`` / ``outputs`` filled by the forwards run inside ``with``."""

    def __init__(self, blocks: Mapping[str, SqueezeExcite], *, outputs: bool = False, graph: bool = False) -> None:
        self.blocks = dict(blocks)
        self.keep_outputs = outputs
        self.graph = graph
        self.gates: dict[str, torch.Tensor] = {}
        self.outputs: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = []
        self._thread: int | None = None

    def __enter__(self) -> "SECapture":
        self._thread = threading.get_ident()
        try:
            for name, block in self.blocks.items():
                self._handles.append(block.gate_tap.register_forward_hook(self._recorder(self.gates, name)))
                if self.keep_outputs:
                    self._handles.append(block.register_forward_hook(self._recorder(self.outputs, name)))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()  # returns None: an exception from the block propagates

    def close(self) -> None:
        """Remove every hook (idempotent)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _recorder(self, into: dict[str, torch.Tensor], name: str):
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            if threading.get_ident() == self._thread:
                into[name] = output if self.graph else output.detach()
        return hook
