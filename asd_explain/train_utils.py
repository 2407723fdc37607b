"""Small pieces every training recipe shares: devices, seeding, atomic checkpoints, CSV logs."""
from __future__ import annotations

import csv
import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._version import __version__


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" -> cuda if available, else cpu; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint_file(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` through a temp file, fsync and an atomic rename: a reader sees the old file or the new one."""
    from .train.checkpoint import atomic_torch_save

    return atomic_torch_save({**payload, "asd_explain_version": __version__}, path)


def load_checkpoint_file(path: str | os.PathLike, *, expected_format: str | None = None) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; one-line errors for missing, truncated or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        first = (str(err).strip().splitlines() or ["unreadable"])[0]
        raise ValueError(f"{path}: not a readable checkpoint (truncated or corrupt?): {first}") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise ValueError(f"{path}: not an asd_explain checkpoint (no 'format' entry)")
    if expected_format is not None and ckpt["format"] != expected_format:
        raise ValueError(f"{path}: checkpoint format {ckpt['format']!r}, expected {expected_format!r}")
    return ckpt


class CsvLog:
    """Append rows to a CSV log (header written once); flushed after every row so a crash loses nothing."""

    def __init__(self, path: str | os.PathLike, fields: list[str]) -> None:
        self.path, self.fields = Path(path), list(fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists() or self.path.stat().st_size == 0:
            with self.path.open("w", newline="") as handle:
                csv.writer(handle).writerow(self.fields)
        else:  # resuming: keep the columns of the header already written (fields it lacks are dropped)
            with self.path.open(newline="") as handle:
                self.fields = next(csv.reader(handle), self.fields) or self.fields

    def write(self, **row: Any) -> None:
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow([row.get(f, "") for f in self.fields])
