"""Evaluate a checkpoint on a track store: AVA-format predictions, ground truth, official AP.

``evaluate_checkpoint`` writes into ``out_dir``:
  predictions.csv   AVA columns + ``score`` (label SPEAKING_AUDIBLE on every row, as the official
                    scorer wants); timestamps and boxes exactly as the store holds them, so the file
                    scores against the original annotation CSVs too;
  ground_truth.csv  the store's labels in the same AVA format (no header, like the official files);
  metrics.json      AP (official metric, re-read from the two CSVs), per-category AP, rows, and
                    where it came from (checkpoint, store, split, asd_explain version).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .._version import __version__
from ..atomic import atomic_write
from ..config import atomic_write_text
from ..data.preprocessing import model_preprocessing
from ..data.store import TrackStore
from ..metrics.ava_scoring import AVA_COLUMNS, score_csv
from ..metrics.categories import read_categories
from ..models.asd_model import ASDModel
from ..runtime import resolve_device
from .batches import eval_positions
from .checkpoint import load_model
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
                  num_workers: int = 0, progress: bool = True) -> pd.DataFrame:
    """Score every labelled frame of ``store``: columns entity_id, frame_timestamp, score."""
    source = StoreTrackSource(store, model.config, chunk_frames=chunk_frames, batch_frames=batch_frames,
                              num_workers=num_workers, preprocessing=model_preprocessing(model))
    positions = eval_positions(source.num_batches(), 0, 1)
    batches = tqdm(source.batches(0, positions), total=len(positions), desc="evaluate", disable=not progress,
                   dynamic_ncols=True)
    scores = score_batches(model, batches, keep_identity=True)
    return pd.DataFrame({"entity_id": scores.entity_id, "frame_timestamp": scores.timestamp_s,
                         "score": scores.score})


def prediction_rows(ground_truth: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """AVA prediction rows (GT order) from per-frame scores; every GT row must have exactly one score."""
    merged = ground_truth.merge(scores, on=["entity_id", "frame_timestamp"], how="left", validate="1:1")
    missing = int(merged["score"].isna().sum())
    if missing:
        first = merged[merged["score"].isna()].iloc[0]
        raise RuntimeError(f"{missing} ground-truth rows got no score (first: {first['entity_id']} at "
                           f"{first['frame_timestamp']})")
    merged["label"] = "SPEAKING_AUDIBLE"
    return merged[AVA_COLUMNS + ["score"]]


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike, out_dir: str | os.PathLike, *,
                        split: str | None = "val", categories_file: str | os.PathLike | None = None,
                        device: str = "auto", chunk_frames: int = 256, batch_frames: int = 1024,
                        num_workers: int = 0, progress: bool = True) -> EvaluationResult:
    """Predict a store with a checkpoint, write the CSVs and metrics (module docstring)."""
    model, ckpt = load_model(checkpoint, resolve_device(device))
    store = TrackStore(resolve_store(data, split))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ground_truth = store_rows(store)
    scores = predict_store(model, store, chunk_frames=chunk_frames, batch_frames=batch_frames,
                           num_workers=num_workers, progress=progress)
    predictions = prediction_rows(ground_truth, scores)
    gt_csv, pred_csv = out / "ground_truth.csv", out / "predictions.csv"
    _write_csv(ground_truth, gt_csv, header=False)
    _write_csv(predictions, pred_csv, header=True)
    categories = read_categories(categories_file) if categories_file else store_categories(store)
    result = score_csv(gt_csv, pred_csv, categories or None)
    metrics = result.to_dict()
    metrics.update(checkpoint=str(checkpoint), store=str(store.path), split=store.manifest.get("split", split),
                   dataset=store.manifest.get("dataset"), model_config=ckpt.get("model_config"),
                   trained_steps=(ckpt.get("progress") or {}).get("step"), asd_explain_version=__version__)
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


def _write_csv(frame: pd.DataFrame, path: Path, header: bool) -> None:
    """Atomic CSV write; floats as Python repr, so the official scorer's uid strings round-trip."""
    with atomic_write(path, "w", newline="") as handle:
        frame.to_csv(handle, index=False, header=header, float_format=None)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
