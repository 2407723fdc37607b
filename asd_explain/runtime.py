"""Where and how reproducibly the toolkit runs: the device resolver and the seeding every recipe uses."""
from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """"auto" -> cuda:<local_rank> if CUDA is available else cpu; otherwise ``torch.device(name)`` ("cuda"
    without an index becomes cuda:<local_rank>). ValueError when CUDA is asked for but absent."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
