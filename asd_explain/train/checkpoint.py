"""Checkpoints: atomic, resumable, loadable with ``torch.load(weights_only=True)``, self-describing.

A checkpoint is a dict of plain Python values and tensors only:
  format, architecture, version      what it is and which asd_explain wrote it
  model_config, train_config         the resolved configs (dicts)
  preprocessing                      how the inputs were made (face size, audio feature, n_mels,
                                     sample rate, fps policy, normalisation, ...)
  model_state                        the model's state_dict
  optimizer_state, scheduler_state, scaler_state, progress (step, epoch, batch_in_epoch, elapsed_s,
  best_val_ap), rng (torch / numpy / python / cuda generator states)   for resuming
Writes go to a temp file in the same folder, are fsync'ed, then renamed over the target, so a crash
(even kill -9) leaves either the old or the new file, never a truncated one.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._version import __version__
from ..atomic import atomic_write
from ..config import ConfigError, config_from_dict, config_to_dict
from ..data.preprocessing import Preprocessing
from ..models.asd_model import ARCHITECTURE, ASDModel
from ..models.config import ModelConfig
from ..models.pretrained import PUBLISHED, build_published
from ..models.pretrained_model import PretrainedASDModel, PretrainedConfig

PUBLISHED_ARCHITECTURES = tuple(entry.builder.architecture for entry in PUBLISHED.values())

CHECKPOINT_FORMAT = "asd_explain.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here; the message is one line naming the file."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through ``atomic_write`` (temp file, fsync, rename): a reader sees the old file or the new."""
    path = Path(path)
    with atomic_write(path, "wb", fsync=True) as handle:
        torch.save(obj, handle)
    return path


def save_checkpoint_file(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Any recipe's checkpoint dict (it names its own ``format``), stamped with the toolkit version, saved
    atomically."""
    return atomic_torch_save({**payload, "asd_explain_version": __version__}, path)


def read_checkpoint_file(path: str | os.PathLike, *, expected_format: str | None = None,
                         map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The one checkpoint reader (``weights_only=True``): CheckpointError with a one-line reason naming the
    file when it is missing, unreadable (truncated, not a torch file), not a toolkit checkpoint (no
    ``format``) or of another format than ``expected_format``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError / UnpicklingError / EOFError / zip errors
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or not a torch file): {reason}") \
            from None
    if not isinstance(checkpoint, dict) or "format" not in checkpoint:
        hint = " (looks like a bare state_dict)" if isinstance(checkpoint, dict) else ""
        raise CheckpointError(f"{path}: not an asd_explain checkpoint, it has no 'format' entry{hint}")
    if expected_format is not None and checkpoint["format"] != expected_format:
        raise CheckpointError(f"{path}: checkpoint format {checkpoint['format']!r}, expected {expected_format!r}")
    return checkpoint


def capture_rng_state() -> dict[str, Any]:
    """Generator states of torch, numpy, python (and CUDA if used), as weights_only-safe values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of ``capture_rng_state``."""
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_checkpoint(model: ASDModel, *, preprocessing: Preprocessing | dict[str, Any] | None = None,
                    train_config: Any = None, **training_state: Any) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (unwrapped, not DDP) plus optional training state entries."""
    default = Preprocessing.for_model(model.config) if isinstance(model, ASDModel) else Preprocessing()
    prep = preprocessing if isinstance(preprocessing, dict) else config_to_dict(preprocessing or default)
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "architecture": model.architecture,
        "version": __version__,
        "model_config": model_config_dict(model),
        "train_config": config_to_dict(train_config) if train_config is not None else None,
        "preprocessing": prep,
        "model_state": model.state_dict(),
    }
    checkpoint.update(training_state)
    return checkpoint


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint (``weights_only=True``); CheckpointError with a one-line reason."""
    checkpoint = read_checkpoint_file(path, expected_format=CHECKPOINT_FORMAT, map_location=map_location)
    if checkpoint.get("architecture") not in (ARCHITECTURE, *PUBLISHED_ARCHITECTURES):
        raise CheckpointError(f"{path}: checkpoint of architecture {checkpoint.get('architecture')!r}, "
                              f"expected one of {[ARCHITECTURE, *PUBLISHED_ARCHITECTURES]}")
    return checkpoint


def model_config_dict(model: ASDModel | PretrainedASDModel) -> dict[str, Any]:
    """What rebuilds ``model``: its ModelConfig, or for a published architecture its PretrainedConfig."""
    if isinstance(model, PretrainedASDModel):
        return config_to_dict(model.pretrained_config)
    return config_to_dict(model.config)


def model_config_of(checkpoint: dict[str, Any], path: str | os.PathLike = "checkpoint") -> ModelConfig:
    """The ModelConfig stored in a checkpoint."""
    try:
        return config_from_dict(ModelConfig, checkpoint.get("model_config"), source=f"{path}: model_config")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None


def load_model_state(model: ASDModel, state: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """``load_state_dict`` (strict) with a one-line error listing what does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        details = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
            if keys:
                details.append(f"{len(keys)} {label} (e.g. {keys[0]!r})")
        raise CheckpointError(f"{path}: weights do not fit the {type(model).__name__} of this config: "
                              + ", ".join(details))
    model.load_state_dict(state)


def preprocessing_of(checkpoint: dict[str, Any], path: str | os.PathLike = "checkpoint") -> Preprocessing:
    """The Preprocessing stored in a checkpoint (defaults where it has none); CheckpointError when unusable."""
    try:
        prep = Preprocessing.from_dict(checkpoint.get("preprocessing"), source=f"{path}: preprocessing")
        prep.check_inference(f"{path}: preprocessing")
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    return prep


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu"
               ) -> tuple[ASDModel | PretrainedASDModel, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights. Returns (model in eval mode, checkpoint).

    For an ``ASDModel``, ``model.preprocessing`` is the checkpoint's ``Preprocessing``, which inference follows.
    A checkpoint of a fine-tuned published model (``train --init``) rebuilds that architecture (which brings
    its own fixed input preparation)."""
    checkpoint = load_checkpoint(path)
    if checkpoint["architecture"] == ARCHITECTURE:
        model: ASDModel | PretrainedASDModel = ASDModel(model_config_of(checkpoint, path))
    else:
        try:
            config = config_from_dict(PretrainedConfig, checkpoint.get("model_config"), source=f"{path}: model_config")
        except ConfigError as err:
            raise CheckpointError(str(err)) from None
        model = build_published(config)
    load_model_state(model, checkpoint["model_state"], path)
    if isinstance(model, ASDModel):
        model.preprocessing = prep = preprocessing_of(checkpoint, path)
        features = prep.audio_config()
        if "audio" in model.modalities and (features.kind, features.n_features) != (
                model.config.audio_feature, model.config.n_audio_features):
            raise CheckpointError(f"{path}: preprocessing makes {features.n_features} {features.kind} features but "
                                  f"the model takes {model.config.n_audio_features} {model.config.audio_feature}")
    return model.to(device).eval(), checkpoint
