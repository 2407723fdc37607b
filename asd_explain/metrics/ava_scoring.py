"""The official AVA-ActiveSpeaker scorer as a library: read GT and prediction CSVs, check, score.

Same result as ``get_ava_active_speaker_performance.py`` on valid inputs (REFERENCE section 2):
rows are matched on (frame_timestamp, entity_id) - the official ``str(timestamp) + ":" + entity_id``
uid (two floats print alike exactly when their bits are equal, which is what we compare) -, counts
must be equal and the match one-to-one, boxes must agree within 1e-9, every prediction row must carry
the label SPEAKING_AUDIBLE and a score; positives are GT SPEAKING_AUDIBLE rows (SPEAKING_NOT_AUDIBLE
is negative); AP is ``asd_explain.metrics.ava_ap.average_precision`` over rows in GT file order (ties
break like the official pandas sort). Where the official scorer would silently drop unmatched rows or
crash, we stop with a one-line error naming the file and row.

Accepted files: official per-video CSVs without header (8 columns; predictions add ``score`` as the
last column), headed CSVs (columns found by name; merged variants with ``label_id`` / ``instance_id``
work). Pandas' C parser and numpy keep 2 million rows under ~5 s.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .ava_ap import average_precision

AVA_COLUMNS = ["video_id", "frame_timestamp", "entity_box_x1", "entity_box_y1", "entity_box_x2",
               "entity_box_y2", "label", "entity_id"]
BOX_COLUMNS = AVA_COLUMNS[2:6]
LABELS = ("NOT_SPEAKING", "SPEAKING_AUDIBLE", "SPEAKING_NOT_AUDIBLE")
POSITIVE_LABEL = "SPEAKING_AUDIBLE"
BOX_TOLERANCE = 1e-9


class ScoringError(ValueError):
    """Inputs the official scorer would reject (or silently mis-score); one line naming file and row."""


@dataclass
class CategoryScore:
    ap: float
    rows: int
    positives: int


@dataclass
class ScoreResult:
    """AP in [0, 1] over all rows, and per category when categories were given (NaN without positives)."""

    ap: float
    rows: int
    positives: int
    per_category: dict[str, CategoryScore] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready (NaN -> None)."""
        return {"ap": _finite(self.ap), "map_percent": _finite(100.0 * self.ap), "rows": self.rows,
                "positives": self.positives,
                "per_category": {k: {"ap": _finite(v.ap), "map_percent": _finite(100.0 * v.ap), "rows": v.rows,
                                     "positives": v.positives} for k, v in self.per_category.items()}}


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def read_ava_csv(path: str | os.PathLike, *, predictions: bool = False) -> pd.DataFrame:
    """Read an AVA CSV (header or not) into the AVA columns (+ ``score`` for predictions).

    ``_row`` holds each row's line number in the file (1-based) for error messages.
    """
    path = Path(path)
    first = _first_line(path)
    fields = [f.strip() for f in first.split(",")]
    wanted = AVA_COLUMNS + (["score"] if predictions else [])
    dtypes = {c: np.float64 for c in BOX_COLUMNS + ["frame_timestamp", "score"]}
    dtypes.update(video_id="category", label="category", entity_id="category")
    has_header = "frame_timestamp" in fields and "entity_id" in fields
    try:
        if has_header:
            missing = [c for c in wanted if c not in fields]
            if missing:
                raise ScoringError(f"{path}: header lacks column(s) {missing} (has {fields})")
            frame = pd.read_csv(path, usecols=wanted, dtype={c: dtypes[c] for c in wanted}, engine="c",
                                low_memory=False)
        else:
            if len(fields) < len(wanted):
                raise ScoringError(f"{path}: line 1 has {len(fields)} fields, an AVA "
                                   f"{'prediction' if predictions else 'ground-truth'} row needs {len(wanted)}")
            positions = list(range(8)) + ([len(fields) - 1] if predictions else [])
            frame = pd.read_csv(path, header=None, usecols=positions, engine="c", low_memory=False,
                                dtype={i: dtypes[c] for i, c in zip(positions, wanted, strict=True)})
            frame.columns = wanted
    except ValueError as err:
        if isinstance(err, ScoringError):
            raise
        raise ScoringError(_explain_read_error(path, has_header, err)) from None
    frame["_row"] = np.arange(len(frame)) + (2 if has_header else 1)
    _check_values(frame, path, predictions)
    return frame


def _explain_read_error(path: Path, has_header: bool, err: ValueError) -> str:
    """A one-line message naming the first row whose numeric fields do not parse."""
    reason = str(err).splitlines()[0]
    try:
        raw = pd.read_csv(path, header=0 if has_header else None, dtype=str, engine="c")
    except ValueError:
        return f"{path}: cannot read as AVA CSV: {reason}"
    if not has_header:
        raw = raw.iloc[:, :8].set_axis(AVA_COLUMNS[: raw.shape[1]], axis=1)
    for column in ["frame_timestamp"] + BOX_COLUMNS:
        if column in raw:
            bad = np.flatnonzero(pd.to_numeric(raw[column], errors="coerce").isna() & raw[column].notna())
            if bad.size:
                line = bad[0] + (2 if has_header else 1)
                return f"{path}: row {line}: {column} {raw[column].iat[bad[0]]!r} is not a number"
    return f"{path}: cannot read as AVA CSV: {reason}"


def _first_line(path: Path) -> str:
    try:
        with path.open() as handle:
            line = handle.readline()
    except FileNotFoundError:
        raise ScoringError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ScoringError(f"{path}: not a text CSV file") from None
    if not line.strip():
        raise ScoringError(f"{path}: empty file")
    return line


def _check_values(frame: pd.DataFrame, path: Path, predictions: bool) -> None:
    numeric = ["frame_timestamp"] + BOX_COLUMNS + (["score"] if predictions else [])
    for column in numeric:
        bad = np.flatnonzero(np.isnan(frame[column].to_numpy()))
        if bad.size:
            raise ScoringError(f"{path}: row {frame['_row'].iat[bad[0]]}: missing {column}")
    for column in ("entity_id", "label"):
        bad = np.flatnonzero(frame[column].isna().to_numpy())
        if bad.size:
            raise ScoringError(f"{path}: row {frame['_row'].iat[bad[0]]}: missing {column}")
    labels = frame["label"]
    allowed = [POSITIVE_LABEL] if predictions else list(LABELS)
    bad = np.flatnonzero(~labels.isin(allowed).to_numpy())
    if bad.size:
        what = "prediction rows must have label SPEAKING_AUDIBLE" if predictions else f"label must be one of {LABELS}"
        raise ScoringError(f"{path}: row {frame['_row'].iat[bad[0]]}: label {labels.iat[bad[0]]!r}; {what}")


def match_rows(gt: pd.DataFrame, pred: pd.DataFrame, gt_path: str = "ground truth",
               pred_path: str = "predictions") -> np.ndarray:
    """For each GT row (file order), the index of its prediction row; checks counts, 1:1 and boxes."""
    if len(gt) != len(pred):
        raise ScoringError(f"{pred_path}: {len(pred)} prediction rows for {len(gt)} ground-truth rows in "
                           f"{gt_path}; counts must be equal")
    entities = pd.api.types.union_categoricals([gt["entity_id"], pred["entity_id"]],
                                               ignore_order=True).categories
    gt_code, gt_bits = _keys(gt, entities)
    pred_code, pred_bits = _keys(pred, entities)
    gt_order = np.lexsort((gt_bits, gt_code))
    pred_order = np.lexsort((pred_bits, pred_code))
    same = (gt_code[gt_order] == pred_code[pred_order]) & (gt_bits[gt_order] == pred_bits[pred_order])
    for code, bits, order, frame, path in ((gt_code, gt_bits, gt_order, gt, gt_path),
                                           (pred_code, pred_bits, pred_order, pred, pred_path)):
        repeated = np.flatnonzero((code[order][1:] == code[order][:-1]) & (bits[order][1:] == bits[order][:-1]))
        if repeated.size:
            row = frame.iloc[order[repeated[0] + 1]]
            raise ScoringError(f"{path}: row {row['_row']}: duplicate uid {_uid(row)} (uids must be unique)")
    if not same.all():
        _raise_unmatched(gt, pred, gt_code, gt_bits, pred_code, pred_bits, gt_path, pred_path)
    index = np.empty(len(gt), dtype=np.int64)
    index[gt_order] = pred_order
    _check_boxes(gt, pred, index, pred_path)
    return index


def _keys(frame: pd.DataFrame, entities: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(entity code, timestamp bits) per row: equal pairs <=> equal official uid strings."""
    codes = pd.Categorical(frame["entity_id"], categories=entities).codes.astype(np.int64)
    bits = frame["frame_timestamp"].to_numpy(np.float64).view(np.int64)
    return codes, bits


def _raise_unmatched(gt: pd.DataFrame, pred: pd.DataFrame, gt_code: np.ndarray, gt_bits: np.ndarray,
                     pred_code: np.ndarray, pred_bits: np.ndarray, gt_path: str, pred_path: str) -> None:
    pred_keys = pd.MultiIndex.from_arrays([pred_code, pred_bits])
    unmatched = np.flatnonzero(pred_keys.get_indexer(pd.MultiIndex.from_arrays([gt_code, gt_bits])) < 0)
    row = gt.iloc[unmatched[0]]
    raise ScoringError(f"{pred_path}: no prediction for {gt_path} row {row['_row']} (uid {_uid(row)}); "
                       f"{unmatched.size} ground-truth rows unmatched")


def _uid(row: pd.Series) -> str:
    return f"{row['frame_timestamp']}:{row['entity_id']}"


def _check_boxes(gt: pd.DataFrame, pred: pd.DataFrame, index: np.ndarray, pred_path: str) -> None:
    ok = np.ones(len(gt), dtype=bool)
    for column in BOX_COLUMNS:
        ok &= np.abs(gt[column].to_numpy() - pred[column].to_numpy()[index]) <= BOX_TOLERANCE
    bad = np.flatnonzero(~ok)
    if bad.size:
        row = pred.iloc[index[bad[0]]]
        raise ScoringError(f"{pred_path}: row {row['_row']}: box differs from the ground truth by more than "
                           f"{BOX_TOLERANCE} (uid {_uid(row)}); {bad.size} rows mismatch")


def score_frames(gt: pd.DataFrame, pred: pd.DataFrame, categories: Mapping[str, str] | None = None, *,
                 gt_path: str = "ground truth", pred_path: str = "predictions") -> ScoreResult:
    """Score read frames (``read_ava_csv`` output); per category when ``categories`` maps video -> name."""
    index = match_rows(gt, pred, gt_path, pred_path)
    scores = pred["score"].to_numpy(np.float64)[index]
    positives = (gt["label"] == POSITIVE_LABEL).to_numpy()
    if not positives.any():
        raise ScoringError(f"{gt_path}: no SPEAKING_AUDIBLE row; AP is undefined")
    result = ScoreResult(average_precision(scores, positives), len(gt), int(positives.sum()))
    if categories:
        from .categories import category_per_row

        row_categories = category_per_row(gt["video_id"], categories)
        for name in sorted(set(row_categories) - {""}):
            rows = row_categories == name
            count = int(positives[rows].sum())
            ap = average_precision(scores[rows], positives[rows]) if count else float("nan")
            result.per_category[name] = CategoryScore(ap, int(rows.sum()), count)
    return result


def score_csv(gt_path: str | os.PathLike, pred_path: str | os.PathLike,
              categories: Mapping[str, str] | None = None) -> ScoreResult:
    """Score a prediction CSV against a ground-truth CSV (the official metric), optionally per category."""
    gt = read_ava_csv(gt_path)
    pred = read_ava_csv(pred_path, predictions=True)
    return score_frames(gt, pred, categories, gt_path=str(gt_path), pred_path=str(pred_path))
