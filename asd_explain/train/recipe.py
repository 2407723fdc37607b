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
    val_store = TrackStore(resolve_store(data.store, data.val_split)) if data.val_split else None
    if val_store is not None and val_store.path == train_store.path:
        raise ConfigError(f"{data.store}: train and val resolve to the same store {val_store.path}")
    if config.init:
        return _fine_tune_published(config, train_store, val_store, resume)
    prep = preprocessing_of(train_store, config.model, data.body_hide_face_margin if data.body_hide_face else None)
    train_source = StoreClipSource(train_store, config.model, clip_frames=data.clip_frames,
                                   batch_size=data.batch_size, augment=data.augment, seed=config.seed,
                                   num_workers=data.num_workers, max_tracks=data.max_tracks,
                                   modality_dropout=data.modality_dropout,
                                   dropout_modalities=data.dropout_modalities, augment_audio=data.augment_audio,
                                   shift_px=data.shift_px, preprocessing=prep)
    val_source = None
    if val_store is not None:
        val_source = StoreTrackSource(val_store, config.model, chunk_frames=data.eval_clip_frames,
                                      batch_frames=data.batch_frames, num_workers=data.num_workers,
                                      max_tracks=data.max_tracks, preprocessing=prep)
    return train(config, train_source, val_source, preprocessing=prep, resume=resume)


def _fine_tune_published(config: TrainConfig, train_store: TrackStore, val_store: TrackStore | None,
                         resume: bool) -> TrainResult:
    """``config.init``: the published model from its weights, fed the authors' inputs (pretrained_sources)."""
    from ..models.pretrained import published_weights
    from ..models.weights_file import WeightsError
    from .pretrained_sources import (
        PretrainedClipSource,
        PretrainedTrackSource,
        check_store_for_pretrained,
        pretrained_preprocessing,
    )

    try:
        published_weights(config.init)
    except WeightsError as err:
        raise ConfigError(f"init: {err}") from None
    data = config.data
    unused = [f"{name}={value}" for name, value in (("data.modality_dropout", data.modality_dropout),
              ("gate_l1", config.gate_l1), ("blank_gate_weight", config.blank_gate_weight),
              ("share_floor", config.share_floor), ("unlabelled_blanks", list(config.unlabelled_blanks))) if value]
    if unused:
        raise ConfigError(f"init {config.init}: {', '.join(unused)} need the toolkit's model (its SE blocks and "
                          "modality streams); set them to 0 (see configs/finetune_pretrained.yaml)")
    for store in (train_store, val_store):
        if store is not None:
            check_store_for_pretrained(store, config.init)
    train_source = PretrainedClipSource(train_store, clip_frames=data.clip_frames, batch_size=data.batch_size,
                                        augment=data.augment, seed=config.seed, num_workers=data.num_workers,
                                        max_tracks=data.max_tracks, shift_px=data.shift_px)
    val_source = None if val_store is None else PretrainedTrackSource(
        val_store, chunk_frames=data.eval_clip_frames, batch_frames=data.batch_frames,
        num_workers=data.num_workers, max_tracks=data.max_tracks)
    return train(config, train_source, val_source, preprocessing=pretrained_preprocessing(config.init, train_store),
                 resume=resume)
