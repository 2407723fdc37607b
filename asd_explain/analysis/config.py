"""Settings of an analysis run (``asd-explain analyze`` and the two notebooks share them).

One flat dataclass, so a notebook's parameter cell and the command line set the same names; the
resolved settings are written beside every output as ``analysis_config.yaml``.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Iterator

import torch

from ..constants import DEFAULT_Z

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


@dataclass
class AnalysisConfig:
    """What to analyse and how much of it.

    Inputs: checkpoint (an ``asd-explain train`` checkpoint), data (a track store, or a folder with one
    store per split) and split; corpus: the synthetic corpus the store was made from (its evidence
    files give mouth / gesture pointing; None: no pointing); image_checkpoint: an ``asd-explain image
    train`` checkpoint with an SE block (SE statistics and ablation on images), image_split.
    Run: seed (sampling of SE vectors and bootstrap), threads (torch threads while analysing: the same
    count gives the same numbers), device.
    Attention: max_tracks (0 = all, else that many spread evenly over the store), chunk_frames (frames
    per forward, as ``evaluate``), speaking_threshold (a speaking frame is correctly scored at
    score >= this), examples_per_category (tracks drawn with overlays), max_examples (at most that many
    drawings in all; 0 = no limit).
    SE statistics: se_vectors (vectors kept per SE block, drawn with ``seed``), image_count (images
    whose SE vectors are collected), batch_size, alpha (test level), shapiro_max (values in a pooled
    test), qq_points.
    Ablation: z_values, top_percents (exact top-k%), interpolations; ablation_images and image_steps
    (Deletion / Insertion points - 1 on images); av_clips, clip_frames and av_steps (same on face crops
    of the AV model); bootstrap (resamples of the paired confidence intervals).
    """

    checkpoint: str | None = None
    data: str | None = None
    split: str = "val"
    corpus: str | None = None
    image_checkpoint: str | None = None
    image_split: str = "test"
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    max_tracks: int = 0
    chunk_frames: int = 256
    speaking_threshold: float = 0.5
    examples_per_category: int = 1
    max_examples: int = 0
    se_vectors: int = 2000
    image_count: int = 300
    batch_size: int = 32
    alpha: float = 0.05
    shapiro_max: int = 5000
    qq_points: int = 400
    z_values: tuple[float, ...] = (0.674, DEFAULT_Z, 1.645)
    top_percents: tuple[float, ...] = (10.0,)
    interpolations: tuple[str, ...] = INTERPOLATIONS
    ablation_images: int = 120
    image_steps: int = 16
    av_clips: int = 48
    clip_frames: int = 16
    av_steps: int = 8
    bootstrap: int = 2000

    def __post_init__(self) -> None:
        self.z_values = tuple(float(z) for z in self.z_values)
        self.top_percents = tuple(float(p) for p in self.top_percents)
        self.interpolations = tuple(self.interpolations)
        bad = [m for m in self.interpolations if m not in INTERPOLATIONS]
        if bad:
            raise ValueError(f"interpolations: unknown mode {bad[0]!r} (valid: {', '.join(INTERPOLATIONS)})")
        if "bicubic" not in self.interpolations:
            raise ValueError("interpolations must include bicubic (the paper's choice, the reference)")
        if DEFAULT_Z not in self.z_values:
            raise ValueError("z_values must include 1.282 (the paper's choice, the reference)")
        for name in ("threads", "chunk_frames", "se_vectors", "image_count", "batch_size", "shapiro_max",
                     "qq_points", "ablation_images", "image_steps", "av_clips", "clip_frames", "av_steps",
                     "bootstrap"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if min(self.max_tracks, self.examples_per_category, self.max_examples) < 0:
            raise ValueError("max_tracks, examples_per_category and max_examples must be >= 0")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if any(not 0 < p <= 100 for p in self.top_percents):
            raise ValueError(f"top_percents must be in (0, 100], got {self.top_percents}")


ATTENTION_KEYS = ("checkpoint", "data", "split", "corpus", "seed", "threads", "device", "max_tracks", "chunk_frames",
                  "speaking_threshold", "examples_per_category", "max_examples")
SE_STATS_KEYS = ("checkpoint", "data", "split", "corpus", "image_checkpoint", "image_split", "seed", "threads",
                 "device", "max_tracks", "chunk_frames", "se_vectors", "image_count", "batch_size", "alpha",
                 "shapiro_max", "qq_points", "z_values")
ABLATION_KEYS = ("checkpoint", "data", "split", "corpus", "image_checkpoint", "image_split", "seed", "threads",
                 "device", "batch_size", "z_values", "top_percents", "interpolations",
                 "ablation_images", "image_steps", "av_clips", "clip_frames", "av_steps", "bootstrap")


def settings_of(cfg: AnalysisConfig, keys: tuple[str, ...]) -> dict:
    """The settings one part depends on (written into its JSON, so other parts' settings do not differ it)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in ((k, getattr(cfg, k)) for k in keys)}


SMALL_SETTINGS = {
    "max_tracks": 6, "chunk_frames": 64, "examples_per_category": 1, "max_examples": 2, "se_vectors": 300,
    "image_count": 16, "batch_size": 8, "qq_points": 100, "ablation_images": 4, "image_steps": 4, "av_clips": 2,
    "clip_frames": 8, "av_steps": 3, "bootstrap": 100,
}


def small(cfg: AnalysisConfig) -> AnalysisConfig:
    """A copy of ``cfg`` with tiny sample sizes (tests, a first look): seconds instead of minutes."""
    return dataclasses.replace(cfg, **SMALL_SETTINGS)


def configure(base: AnalysisConfig | None = None, *, small_sizes: bool = False, **values) -> AnalysisConfig:
    """``base`` (default settings when None), made ``small`` when asked, then every value that is not None.

    The notebooks' parameter cells and ``asd-explain analyze`` both build their settings this way, so the
    same parameters give the same config (and the same numbers).
    """
    cfg = base or AnalysisConfig()
    if small_sizes:
        cfg = small(cfg)
    return dataclasses.replace(cfg, **{k: v for k, v in values.items() if v is not None})


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` torch threads (the same count gives the same floating-point sums), then restore."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
