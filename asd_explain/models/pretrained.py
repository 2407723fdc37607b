"""The published AVA-trained weights the toolkit knows, where to find them, and ``load_pretrained``.

Where a weights file is looked for, in order:
  1. an explicit file (``weights=`` / ``--weights FILE``);
  2. the folder named by the environment variable ``ASD_EXPLAIN_WEIGHTS``: ``<folder>/<name>/<file>``, then
     ``<folder>/<file>`` (``../shared/weights`` has the first layout);
  3. the download cache (torch.hub's convention: ``$TORCH_HOME/hub/checkpoints``, by default
     ``~/.cache/torch/hub/checkpoints``; ``cache_dir=`` / ``--cache-dir`` overrides it);
otherwise a one-line error says to run ``asd-explain weights download NAME`` or pass ``--weights``.
Files of the registry are sha256-checked before they are loaded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .light_asd import LightASD
from .lr_asd import LRASD
from .pretrained_model import PretrainedASDModel, PretrainedConfig
from .weights_file import WeightsError, load_published

WEIGHTS_ENV = "ASD_EXPLAIN_WEIGHTS"


@dataclass(frozen=True)
class PublishedWeights:
    """One published weights file: where it comes from, what it is, which architecture reads it."""

    name: str
    file_name: str
    url: str
    sha256: str
    size_bytes: int
    license: str
    reported_map_percent: float
    paper: str
    repository: str
    commit: str
    builder: type[PretrainedASDModel]


def _raw_url(repository: str, commit: str, path: str) -> str:
    owner_repo = repository.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{owner_repo}/{commit}/{path}"


PUBLISHED: dict[str, PublishedWeights] = {
    "light-asd": PublishedWeights(
        name="light-asd", file_name="pretrain_AVA_CVPR.model",
        url=_raw_url("https://github.com/Junhua-Liao/Light-ASD", "ed38c232de5efe0261dbd68627c0ade7cdfe14eb",
                     "weight/pretrain_AVA_CVPR.model"),
        sha256="d44bc3ea7baa8e0946fa3921311714a630ed8b90a1928fab0dbe30d918909317", size_bytes=4_175_289,
        license="MIT (c) Junhua Liao et al.", reported_map_percent=94.06,
        paper="Liao et al., A Light Weight Model for Active Speaker Detection, CVPR 2023",
        repository="https://github.com/Junhua-Liao/Light-ASD", commit="ed38c232de5efe0261dbd68627c0ade7cdfe14eb",
        builder=LightASD),
    "lr-asd": PublishedWeights(
        name="lr-asd", file_name="pretrain_AVA.model",
        url=_raw_url("https://github.com/Junhua-Liao/LR-ASD", "1b6dcd2d8fc2895683de6508ec6294ec47d388ca",
                     "weight/pretrain_AVA.model"),
        sha256="85e6c77fc981595234790d1e128ebb60352d37726b2445e0ef8891e2512fe9e3", size_bytes=3_426_337,
        license="MIT (c) Junhua Liao et al.", reported_map_percent=94.45,
        paper="Liao et al., LR-ASD: Lightweight and Robust Network for Active Speaker Detection, IJCV 2025",
        repository="https://github.com/Junhua-Liao/LR-ASD", commit="1b6dcd2d8fc2895683de6508ec6294ec47d388ca",
        builder=LRASD),
}


def published_weights(name: str) -> PublishedWeights:
    """The registry entry of ``name`` ("light-asd", "lr-asd"); a one-line error listing the names otherwise."""
    try:
        return PUBLISHED[name]
    except KeyError:
        raise WeightsError(f"unknown pretrained model {name!r}; known: {', '.join(PUBLISHED)}") from None


def default_cache_dir() -> Path:
    """torch.hub's checkpoint folder: ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/...``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def candidate_paths(name: str, cache_dir: str | Path | None = None) -> list[Path]:
    """Where ``name``'s file is looked for (environment folder first, then the cache), in order."""
    entry = published_weights(name)
    paths = []
    folder = os.environ.get(WEIGHTS_ENV)
    if folder:
        paths += [Path(folder) / entry.name / entry.file_name, Path(folder) / entry.file_name]
    paths.append(Path(cache_dir or default_cache_dir()) / entry.file_name)
    return paths


def resolve_weights(name: str, weights: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """The weights file to load for ``name`` (see the module docstring for the order)."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{path}: no such weights file")
        return path
    paths = candidate_paths(name, cache_dir)
    for path in paths:
        if path.is_file():
            return path
    raise WeightsError(f"no {name} weights found (looked in {', '.join(map(str, paths))}); run "
                       f"`asd-explain weights download {name}` or pass --weights FILE")


def load_pretrained(name: str, weights: str | Path | None = None, *, se: bool = False,
                    device: str | torch.device = "cpu", cache_dir: str | Path | None = None,
                    verify_sha256: bool = True, se_reduction: int = 16,
                    audio_squeeze: str = "frame", se_activation: str = "relu") -> PretrainedASDModel:
    """Build ``name``'s architecture, load its published weights exactly, move to ``device``, eval mode.

    ``se=True`` attaches the identity-at-init SE blocks (outputs unchanged until they are trained).
    ``verify_sha256=False`` accepts a file of the right architecture that is not the published one.
    """
    entry = published_weights(name)
    path = resolve_weights(name, weights, cache_dir)
    model = entry.builder(se=se, se_reduction=se_reduction, audio_squeeze=audio_squeeze, se_activation=se_activation)
    load_published(model, path, entry.sha256 if verify_sha256 else None)
    return model.to(device).eval()


def build_published(config: PretrainedConfig) -> PretrainedASDModel:
    """The architecture (random weights) of ``config``: to load a fine-tuned state dict into."""
    builders = {entry.builder.architecture: entry.builder for entry in PUBLISHED.values()}
    if config.architecture not in builders:
        raise WeightsError(f"unknown published architecture {config.architecture!r}; known: {', '.join(builders)}")
    return builders[config.architecture](se=config.se, se_reduction=config.se_reduction,
                                         audio_squeeze=config.audio_squeeze, se_activation=config.se_activation)
