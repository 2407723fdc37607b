"""The AVA-ActiveSpeaker average precision, computed as the official scorer does (REFERENCE section 2).

Rows are ordered by score, highest first, with the same tie order as the official scorer's
``DataFrame.sort_values("score", ascending=False)`` (pandas' descending ``nargsort``: reverse, numpy
quicksort argsort, reverse) over rows in ground-truth order. Precision is made monotone (VOC style);
AP = sum over recall steps of (r_i - r_{i-1}) * p_i with recall padded [0 .. 1] and precision
padded [0 .. 0]. This is not sklearn's average_precision_score.
"""
from __future__ import annotations

import numpy as np


def descending_order(scores: np.ndarray) -> np.ndarray:
    """Indices that sort ``scores`` highest first, ties ordered exactly as pandas' descending sort."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    reversed_idx = np.arange(len(scores))[::-1]
    order = reversed_idx[scores[::-1].argsort(kind="quicksort")]
    return order[::-1]


def voc_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the monotone (VOC) precision/recall curve; recall must be non-decreasing."""
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    if precision.shape != recall.shape:
        raise ValueError("precision and recall must have the same length")
    if precision.size == 0:
        return 0.0
    if np.any(np.diff(recall) < 0):
        raise ValueError("recall must be non-decreasing")
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Official AVA AP of ``scores`` for rows whose ground truth is ``positives`` (bool, SPEAKING_AUDIBLE).

    Rows must be in ground-truth file order for ties to break exactly as the official scorer's.
    Returns NaN-free values in [0, 1]; with no positive row, 0.0 (the official gives NaN recall).
    """
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    if scores.shape != positives.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and positives {positives.shape} must be equal 1-D shapes")
    total = int(positives.sum())
    if total == 0 or scores.size == 0:
        return 0.0
    order = descending_order(scores)
    tp = np.cumsum(positives[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / total
    return voc_average_precision(precision, recall)
