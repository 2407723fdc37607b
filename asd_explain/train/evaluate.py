"""Evaluate a checkpoint on a track store: AVA-format predictions, ground truth, official AP.

``evaluate_checkpoint`` writes into ``out_dir``:
  predictions.csv   the official layout (``asd_explain.metrics.ava_csv``: no header, AVA columns + ``score``,
                    label SPEAKING_AUDIBLE on every row); timestamps and boxes exactly as the ground
                    truth holds them; one row per ground-truth row;
  ground_truth.csv  the ground truth in the same layout: the store's labels, or the rows of the official
                    CSVs given as ``ground_truth_files`` (then rows the store lacks - a skipped video or
                    row - get ``fill_score`` and are counted);
  metrics.json      AP (official metric, re-read from the two CSVs), per-category AP, rows, the filled
                    rows (``fill_score``, ``filled_rows``, ``filled_videos``), and where it came from
                    (checkpoint, store, split, asd_explain version).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .._version import __version__
from ..config import atomic_write_text
from ..data.preprocessing import model_preprocessing
from ..data.store import TrackStore
from ..metrics.ava_csv import (
    DEFAULT_FILL_SCORE,
    CompletedPredictions,
    complete_predictions,
    read_ground_truth,
    write_ava_csv,
)
from ..metrics.ava_scoring import score_csv
from ..metrics.categories import read_categories
from ..models.asd_model import ASDModel
from ..models.pretrained_model import PretrainedASDModel
from ..runtime import resolve_device
from .batches import eval_positions
from .checkpoint import load_model
from .pretrained_sources import PretrainedTrackSource, check_store_for_pretrained
from .store_batches import StoreTrackSource, resolve_store
from .validation import score_batches

LABEL_NAMES = {0: "NOT_SPEAKING", 1: "SPEAKING_AUDIBLE", 2: "SPEAKING_NOT_AUDIBLE"}


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    predictions_csv: Path
    ground_truth_csv: Path
    metrics_json: Path


def store_rows(store: TrackStore) -> pd.DataFrame:
    """Ground-truth rows of every track (AVA columns), in store order; reads no images and no audio."""
    parts = []
    for entity_id in store.entity_ids:
        track = store.read(entity_id, modalities=())
        boxes = np.asarray(track.face_boxes, dtype=np.float64)
        parts.append(pd.DataFrame({
            "video_id": track.video_id, "frame_timestamp": track.timestamps_s.astype(np.float64),
            "entity_box_x1": boxes[:, 0], "entity_box_y1": boxes[:, 1], "entity_box_x2": boxes[:, 2],
            "entity_box_y2": boxes[:, 3], "label": [LABEL_NAMES.get(int(v), "NOT_SPEAKING") for v in track.labels],
            "entity_id": entity_id,
        }))
    return pd.concat(parts, ignore_index=True)


def predict_store(model: ASDModel, store: TrackStore, *, chunk_frames: int = 256, batch_frames: int = 1024,
                  num_workers: int = 0, progress: bool = True, source: StoreTrackSource | None = None) -> pd.DataFrame:
    """Score every labelled frame of ``store``: columns entity_id, frame_timestamp, score.

    ``source`` gives the batches (default: ``StoreTrackSource`` of ``model.config`` with the model's
    preprocessing; a published model brings its own input preparation).
    """
    source = source or StoreTrackSource(store, model.config, chunk_frames=chunk_frames, batch_frames=batch_frames,
                                        num_workers=num_workers, preprocessing=model_preprocessing(model))
    positions = eval_positions(source.num_batches(), 0, 1)
    batches = tqdm(source.batches(0, positions), total=len(positions), desc="evaluate", disable=not progress,
                   dynamic_ncols=True)
    scores = score_batches(model, batches, keep_identity=True)
    return pd.DataFrame({"entity_id": scores.entity_id, "frame_timestamp": scores.timestamp_s,
                         "score": scores.score})


def prediction_rows(ground_truth: pd.DataFrame, scores: pd.DataFrame,
                    fill_score: float = DEFAULT_FILL_SCORE) -> CompletedPredictions:
    """AVA prediction rows (GT order, GT boxes) from per-frame scores; GT rows without a score get ``fill_score``."""
    return complete_predictions(ground_truth, scores[["entity_id", "frame_timestamp", "score"]], fill_score)


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike, out_dir: str | os.PathLike, *,
                        split: str | None = "val", categories_file: str | os.PathLike | None = None,
                        device: str = "auto", chunk_frames: int = 256, batch_frames: int = 1024,
                        num_workers: int = 0, progress: bool = True,
                        ground_truth_files: Sequence[str | os.PathLike] | None = None,
                        fill_score: float = DEFAULT_FILL_SCORE) -> EvaluationResult:
    """Predict a store with a checkpoint, write the CSVs and metrics (module docstring)."""
    model, ckpt = load_model(checkpoint, resolve_device(device))
    store = TrackStore(resolve_store(data, split))
    provenance = dict(checkpoint=str(checkpoint), model_config=ckpt.get("model_config"),
                      trained_steps=(ckpt.get("progress") or {}).get("step"))
    source = None
    if isinstance(model, PretrainedASDModel):  # fine-tuned from a published model: the authors' inputs
        check_store_for_pretrained(store, model.architecture, model.preprocessing.face_size_px)
        source = PretrainedTrackSource(store, chunk_frames=chunk_frames, batch_frames=batch_frames,
                                       num_workers=num_workers)
    return evaluate_model(model, store, out_dir, provenance, split=split, categories_file=categories_file,
                          chunk_frames=chunk_frames, batch_frames=batch_frames, num_workers=num_workers,
                          progress=progress, ground_truth_files=ground_truth_files, fill_score=fill_score,
                          source=source)


def evaluate_model(model: Any, store: TrackStore, out_dir: str | os.PathLike, provenance: Mapping[str, Any], *,
                   split: str | None = "val", categories_file: str | os.PathLike | None = None,
                   chunk_frames: int = 256, batch_frames: int = 1024, num_workers: int = 0, progress: bool = True,
                   ground_truth_files: Sequence[str | os.PathLike] | None = None,
                   fill_score: float = DEFAULT_FILL_SCORE, source: StoreTrackSource | None = None) -> EvaluationResult:
    """Predict ``store`` with ``model`` (eval mode), write the CSVs and metrics.json (+ ``provenance``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ground_truth = read_ground_truth(ground_truth_files) if ground_truth_files else store_rows(store)
    scores = predict_store(model, store, chunk_frames=chunk_frames, batch_frames=batch_frames,
                           num_workers=num_workers, progress=progress, source=source)
    completed = prediction_rows(ground_truth, scores, fill_score)
    gt_csv = write_ava_csv(ground_truth, out / "ground_truth.csv")
    pred_csv = write_ava_csv(completed.frame, out / "predictions.csv", predictions=True)
    categories = read_categories(categories_file) if categories_file else store_categories(store)
    result = score_csv(gt_csv, pred_csv, categories or None)
    metrics = result.to_dict()
    metrics.update(store=str(store.path), split=store.manifest.get("split", split),
                   dataset=store.manifest.get("dataset"), asd_explain_version=__version__,
                   ground_truth_files=[str(f) for f in ground_truth_files or []] or None,
                   **provenance, **completed.report())
    metrics_json = out / "metrics.json"
    atomic_write_text(metrics_json, json.dumps(metrics, indent=2, default=_json_default) + "\n")
    return EvaluationResult(metrics, pred_csv, gt_csv, metrics_json)


def store_categories(store: TrackStore) -> dict[str, str]:
    """{video_id: category} from the store's index (empty when the store has none)."""
    found: dict[str, str] = {}
    for entity_id in store.entity_ids:
        entry = store.entry(entity_id)
        if entry.get("category"):
            found[entry["video_id"]] = str(entry["category"])
    return found


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
