"""Score a track store with a published model (Light-ASD / LR-ASD) and its own input preparation.

``evaluate_pretrained("light-asd", STORE, OUT)`` writes the same files as ``evaluate_checkpoint``
(predictions.csv, ground_truth.csv, metrics.json with the official AVA AP); inputs as
``pretrained_sources`` describes (grey 112 crops, python_speech_features MFCC). Each track is scored in
chunks of at most ``chunk_frames`` frames.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..data.store import TrackStore
from ..models.pretrained import load_pretrained, published_weights, resolve_weights
from ..runtime import resolve_device
from .evaluate import EvaluationResult, evaluate_model
from .pretrained_sources import PretrainedTrackSource, check_store_for_pretrained
from .store_batches import resolve_store


def evaluate_pretrained(name: str, data: str | os.PathLike, out_dir: str | os.PathLike, *,
                        weights: str | os.PathLike | None = None, split: str | None = "val",
                        device: str = "auto", chunk_frames: int = 256, batch_frames: int = 1024,
                        num_workers: int = 0, **options: Any) -> EvaluationResult:
    """Predict a store with the published ``name`` model; write the CSVs and metrics (module docstring).

    ``options``: ``categories_file``, ``progress``, ``ground_truth_files``, ``fill_score`` as
    ``evaluate_checkpoint`` takes them.
    """
    entry = published_weights(name)
    path = resolve_weights(name, weights)
    model = load_pretrained(name, path, device=resolve_device(device))
    store = TrackStore(resolve_store(data, split))
    check_store_for_pretrained(store, name, model.preprocessing.face_size_px)
    source = PretrainedTrackSource(store, chunk_frames=chunk_frames, batch_frames=batch_frames,
                                   num_workers=num_workers)
    provenance = dict(pretrained=name, weights=str(Path(path)), weights_sha256=entry.sha256,
                      reported_ava_map_percent=entry.reported_map_percent, audio_feature="psf_mfcc")
    return evaluate_model(model, store, out_dir, provenance, split=split, source=source, **options)
