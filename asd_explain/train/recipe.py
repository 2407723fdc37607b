"""Training on a track store from a YAML config: what ``asd-explain train`` runs.

``load_train_config`` reads a TrainConfig YAML, optionally replaces its ``model`` section with a
ModelConfig YAML and applies dotted ``key=value`` overrides (values parsed as YAML). Unknown keys are a
one-line ConfigError naming the file and key. ``train_on_store`` resolves the train / val stores,
checks they can feed the model, records the preprocessing and runs the Trainer.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import yaml

from ..config import ConfigError, config_from_dict
from ..data.store import TrackStore
from .config import TrainConfig
from .loop import TrainResult, train
from .store_batches import StoreClipSource, StoreTrackSource, preprocessing_of, resolve_store


def _read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """["optim.epochs=3", "model.se=false"] -> {"optim.epochs": 3, "model.se": False}."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def load_train_config(path: str | os.PathLike, *, model_config: str | os.PathLike | None = None,
                      overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The TrainConfig of ``path`` (+ model section from ``model_config``, + dotted overrides)."""
    data = _read_yaml(path)
    source = str(path)
    if model_config is not None:
        data["model"] = _read_yaml(model_config)
        source = f"{path} (model from {model_config})"
    for dotted, value in (overrides or {}).items():
        node = data
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: override {dotted!r}: {key!r} is not a section")
        node[keys[-1]] = value
    return config_from_dict(TrainConfig, data, source=source)


def train_on_store(config: TrainConfig, *, resume: bool = True) -> TrainResult:
    """Train ``config`` on ``config.data.store`` (train split), validating on the val split."""
    data = config.data
    if not data.store:
        raise ConfigError("data.store is empty: set it in the config or with --set data.store=PATH")
    train_store = TrackStore(resolve_store(data.store, data.train_split))
    train_source = StoreClipSource(train_store, config.model, clip_frames=data.clip_frames,
                                   batch_size=data.batch_size, augment=data.augment, seed=config.seed,
                                   num_workers=data.num_workers, max_tracks=data.max_tracks,
                                   modality_dropout=data.modality_dropout,
                                   dropout_modalities=data.dropout_modalities, augment_audio=data.augment_audio,
                                   shift_px=data.shift_px)
    val_source = None
    if data.val_split:
        val_store = TrackStore(resolve_store(data.store, data.val_split))
        if val_store.path == train_store.path:
            raise ConfigError(f"{data.store}: train and val resolve to the same store {val_store.path}")
        val_source = StoreTrackSource(val_store, config.model, chunk_frames=data.eval_clip_frames,
                                      batch_frames=data.batch_frames, num_workers=data.num_workers,
                                      max_tracks=data.max_tracks)
    return train(config, train_source, val_source, preprocessing=preprocessing_of(train_store, config.model),
                 resume=resume)
