"""A straightforward pandas re-implementation of the published AVA active speaker scorer's algorithm.

Written from its description (REFERENCE section 2), as the yardstick for ``asd_explain.metrics.ava_scoring``:
uid = str(frame_timestamp) + ":" + entity_id, inner merge of GT with predictions (validate 1:1, GT order),
``sort_values("score", ascending=False)``, true positive = GT SPEAKING_AUDIBLE, precision = cumulative TP /
row number, recall = cumulative TP / all GT positives, VOC AP with a Python loop making precision monotone.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["video_id", "frame_timestamp", "entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2",
           "label", "entity_id"]


def _load(path, with_score: bool, header: bool) -> pd.DataFrame:
    names = COLUMNS + (["score"] if with_score else [])
    if header:
        frame = pd.read_csv(path, usecols=names)
    else:
        frame = pd.read_csv(path, header=None)
        frame = frame.iloc[:, list(range(8)) + ([frame.shape[1] - 1] if with_score else [])]
        frame.columns = names
    frame["uid"] = frame["frame_timestamp"].map(str) + ":" + frame["entity_id"]
    return frame


def _voc_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    steps = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def reference_ap(gt_path, pred_path, *, gt_header: bool = False, pred_header: bool = False) -> float:
    gt = _load(gt_path, False, gt_header)
    pred = _load(pred_path, True, pred_header)
    assert gt["uid"].count() == pred["uid"].count()
    assert (pred["label"] == "SPEAKING_AUDIBLE").all()
    merged = gt.merge(pred, on="uid", suffixes=("_gt", "_pred"), validate="1:1")
    merged = merged.sort_values(by=["score"], ascending=False).reset_index()
    for axis in ("x1", "y1", "x2", "y2"):
        assert (abs(merged[f"entity_box_{axis}_gt"] - merged[f"entity_box_{axis}_pred"]) <= 1e-9).all()
    positives = (merged["label_gt"] == "SPEAKING_AUDIBLE").sum()
    is_tp = np.where((merged["label_gt"] == "SPEAKING_AUDIBLE") & (merged["label_pred"] == "SPEAKING_AUDIBLE"), 1, 0)
    tp = np.cumsum(is_tp)
    precision = tp / (merged.index.to_numpy() + 1)
    recall = tp / positives
    return _voc_ap(precision.astype(np.float64), recall.astype(np.float64))


def official_read(path, predictions: bool) -> pd.DataFrame:
    """Read a CSV the way the official scorer does: ``header=None``, 8 columns (GT) or 9 (predictions)."""
    names = COLUMNS + (["score"] if predictions else [])
    raw = pd.read_csv(path, header=None)
    assert raw.shape[1] == len(names), f"{path}: {raw.shape[1]} columns, the official reader takes {len(names)}"
    frame = pd.read_csv(path, header=None, names=names)
    frame["uid"] = frame["frame_timestamp"].map(str) + ":" + frame["entity_id"]
    return frame


def check_official_pair(gt_path, pred_path) -> int:
    """The official scorer's acceptance rules on a GT / prediction pair; returns the number of rows."""
    gt = official_read(gt_path, False)
    pred = official_read(pred_path, True)
    assert gt["uid"].count() == pred["uid"].count(), "must have the same number of unique rows"
    assert gt["uid"].is_unique and pred["uid"].is_unique
    assert list(pred["label"].unique()) == ["SPEAKING_AUDIBLE"]
    assert pred["score"].dtype == np.float64
    assert np.issubdtype(gt["frame_timestamp"].dtype, np.floating) or np.issubdtype(gt["frame_timestamp"].dtype,
                                                                                      np.integer)
    merged = gt.merge(pred, on="uid", suffixes=("_gt", "_pred"), validate="1:1")
    assert len(merged) == len(gt), f"{len(gt) - len(merged)} ground-truth rows have no prediction"
    for axis in ("x1", "y1", "x2", "y2"):
        assert (abs(merged[f"entity_box_{axis}_gt"] - merged[f"entity_box_{axis}_pred"]) <= 1e-9).all()
    return len(gt)
