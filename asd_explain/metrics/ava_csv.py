"""AVA-format CSVs written exactly as the official files are, and predictions completed to a ground truth.

The official layout (the ActivityNet AVA-ActiveSpeaker files and scorer): **no header**, the columns
``video_id, frame_timestamp, entity_box_x1, entity_box_y1, entity_box_x2, entity_box_y2, label, entity_id``
and, for predictions, ``score`` as a 9th column with the label SPEAKING_AUDIBLE on every row. Floats are
written as Python ``repr`` (shortest round-trip), so a timestamp read back prints as the same uid string
``str(frame_timestamp) + ":" + entity_id`` the official scorer matches rows on.

``complete_predictions`` makes a prediction table cover a ground truth row for row (the official scorer
refuses files whose uid counts differ): rows the predictions lack get a stated fill score and are
counted, prediction rows the ground truth does not hold are dropped and counted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .ava_scoring import AVA_COLUMNS, BOX_COLUMNS, POSITIVE_LABEL, ScoringError, read_ava_csv

PREDICTION_COLUMNS = AVA_COLUMNS + ["score"]
KEYS = ["entity_id", "frame_timestamp"]
DEFAULT_FILL_SCORE = 0.0  # a speaking probability of 0: a missing row can only cost AP, never add to it


def write_ava_csv(frame: pd.DataFrame, path: str | os.PathLike, *, predictions: bool = False) -> Path:
    """Write ``frame``'s AVA columns (+ ``score``) with no header, atomically (temp + rename)."""
    path = Path(path)
    columns = PREDICTION_COLUMNS if predictions else AVA_COLUMNS
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: cannot write AVA CSV, table lacks column(s) {missing}")
    table = frame[columns]
    if predictions:
        table = table.assign(label=POSITIVE_LABEL)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    table.to_csv(tmp, index=False, header=False, float_format=None)
    os.replace(tmp, path)
    return path


def read_ground_truth(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """AVA ground-truth rows of CSV files and folders of ``*.csv`` (header or not), concatenated in order."""
    files: list[Path] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(given.glob("*.csv"))
            if not found:
                raise ScoringError(f"{given}: no *.csv ground-truth files in this folder")
            files.extend(found)
        else:
            files.append(given)
    if not files:
        raise ScoringError("no ground-truth CSV given")
    parts = [read_ava_csv(f)[AVA_COLUMNS] for f in files]
    frame = pd.concat([p.astype({"video_id": str, "label": str, "entity_id": str}) for p in parts],
                      ignore_index=True)
    return frame


@dataclass
class CompletedPredictions:
    """Prediction rows in ground-truth order, one per ground-truth row, and what was filled or dropped."""

    frame: pd.DataFrame
    fill_score: float
    filled_rows: int
    dropped_rows: int
    filled_videos: dict[str, int] = field(default_factory=dict)  # video_id -> filled rows

    def report(self) -> dict:
        return {"fill_score": self.fill_score, "filled_rows": self.filled_rows,
                "filled_videos": self.filled_videos, "dropped_prediction_rows": self.dropped_rows}

    def summary_line(self) -> str:
        videos = len(self.filled_videos)
        return (f"filled {self.filled_rows} ground-truth rows without a prediction with score {self.fill_score} "
                f"({videos} video{'s' if videos != 1 else ''}); dropped {self.dropped_rows} prediction rows "
                f"not in the ground truth")


def complete_predictions(ground_truth: pd.DataFrame, predictions: pd.DataFrame,
                         fill_score: float = DEFAULT_FILL_SCORE) -> CompletedPredictions:
    """One prediction row per ground-truth row (GT order).

    ``predictions`` needs ``entity_id``, ``frame_timestamp`` and ``score``; its boxes are kept where it has
    them (so the scorer's box check still sees them), the ground truth's are used otherwise. Rows match on
    the exact float timestamp, which is the official uid match.
    """
    gt = ground_truth[AVA_COLUMNS].astype({"video_id": str, "label": str, "entity_id": str}).reset_index(drop=True)
    own_boxes = [c for c in BOX_COLUMNS if c in predictions.columns]
    pred = predictions[KEYS + own_boxes + ["score"]].astype({"entity_id": str})
    pred = pred.astype({"frame_timestamp": np.float64, "score": np.float64})
    try:
        merged = gt.merge(pred.assign(_matched=True), on=KEYS, how="left", suffixes=("", "_pred"),
                          validate="1:1")
    except pd.errors.MergeError as err:
        raise ScoringError(f"predictions: duplicate (entity_id, frame_timestamp) rows: {err}") from None
    for column in own_boxes:
        merged[column] = merged[f"{column}_pred"].where(merged["_matched"].notna(), merged[column])
    absent = merged["_matched"].isna().to_numpy()
    merged.loc[absent, "score"] = float(fill_score)
    merged["label"] = POSITIVE_LABEL
    filled = merged.loc[absent, "video_id"].value_counts(sort=False)
    return CompletedPredictions(merged[PREDICTION_COLUMNS], float(fill_score), int(absent.sum()),
                                len(pred) - int((~absent).sum()),
                                {str(k): int(v) for k, v in filled.sort_index().items()})


def score_filled(gt_path: str | os.PathLike, pred_path: str | os.PathLike, fill_score: float,
                 categories: dict[str, str] | None = None, write_to: str | os.PathLike | None = None):
    """The official AP of ``pred_path`` completed to ``gt_path`` (``complete_predictions``); optionally written."""
    from .ava_scoring import score_frames

    gt = read_ava_csv(gt_path)
    completed = complete_predictions(gt, read_ava_csv(pred_path, predictions=True), fill_score)
    if write_to:
        write_ava_csv(completed.frame, write_to, predictions=True)
    pred = completed.frame.assign(_row=np.arange(len(completed.frame)) + 1)
    pred = pred.astype({"entity_id": "category", "label": "category", "video_id": "category"})
    result = score_frames(gt, pred, categories, gt_path=str(gt_path), pred_path=f"{pred_path} (filled)")
    return result, completed
