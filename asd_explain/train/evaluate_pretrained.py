"""Score a track store with a published model (Light-ASD / LR-ASD) and its own preprocessing.

``evaluate_pretrained("light-asd", STORE, OUT)`` writes the same files as ``evaluate_checkpoint``
(predictions.csv, ground_truth.csv, metrics.json with the official AVA AP). The store must hold grey
112 x 112 face crops (asd-prep's default); the audio is fed as 13 MFCC, 4 frames per video frame
(``PRETRAINED_AUDIO_FEATURE``). Each track is scored in chunks of ``chunk_frames`` frames.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..data.store import StoreError, TrackStore
from ..models.config import ModelConfig
from ..models.pretrained import load_pretrained, published_weights, resolve_weights
from ..models.pretrained_model import PretrainedASDModel
from .distributed import resolve_device
from .evaluate import EvaluationResult, evaluate_model
from .store_batches import resolve_store

PRETRAINED_AUDIO_FEATURE = "mfcc"


def pretrained_data_config(model: PretrainedASDModel) -> ModelConfig:
    """The store inputs a published model reads: face (grey) + audio (13 MFCC)."""
    return ModelConfig(modalities=("audio", "face"), audio_feature=PRETRAINED_AUDIO_FEATURE,
                       n_audio_features=model.preprocessing.n_mfcc, face_channels=1)


def check_store_for_pretrained(store: TrackStore, model: PretrainedASDModel) -> None:
    """One-line StoreError unless the store's face crops are what the published weights were trained on."""
    if len(store) == 0:
        raise StoreError(f"{store.path}: store has no finished track")
    face = store.read(store.entity_ids[0], 0, 1, modalities=("face",)).face  # (1, H, W) grey, (1, H, W, 3) RGB
    want = model.preprocessing.face_size_px
    if face is None or face.ndim != 3 or face.shape[1:] != (want, want):
        found = "none" if face is None else f"{'grey' if face.ndim == 3 else 'RGB'} {face.shape[2]}x{face.shape[1]}"
        raise StoreError(f"{store.path}: face crops are {found}, but {model.architecture} needs grey {want}x{want} "
                         f"crops; prepare the store with face_size {want}, face_colour gray")

def evaluate_pretrained(name: str, data: str | os.PathLike, out_dir: str | os.PathLike, *,
                        weights: str | os.PathLike | None = None, split: str | None = "val",
                        categories_file: str | os.PathLike | None = None, device: str = "auto",
                        chunk_frames: int = 256, batch_frames: int = 1024, num_workers: int = 0,
                        progress: bool = True) -> EvaluationResult:
    """Predict a store with the published ``name`` model; write the CSVs and metrics (module docstring)."""
    entry = published_weights(name)
    path = resolve_weights(name, weights)
    model = load_pretrained(name, path, device=resolve_device(device))
    store = TrackStore(resolve_store(data, split))
    check_store_for_pretrained(store, model)
    provenance = dict(pretrained=name, weights=str(Path(path)), weights_sha256=entry.sha256,
                      reported_ava_map_percent=entry.reported_map_percent,
                      audio_feature=PRETRAINED_AUDIO_FEATURE)
    return evaluate_model(model, store, out_dir, provenance, split=split, categories_file=categories_file,
                          chunk_frames=chunk_frames, batch_frames=batch_frames, num_workers=num_workers,
                          progress=progress, config=pretrained_data_config(model))
