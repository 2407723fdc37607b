"""``asd_explain.metrics.ava_scoring`` against a plain pandas re-implementation of the official scorer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _ava_reference import reference_ap
from click.testing import CliRunner

from asd_explain.cli.score_csv import command as score_command
from asd_explain.metrics.ava_scoring import ScoringError, read_ava_csv, score_csv

LABELS = np.array(["NOT_SPEAKING", "SPEAKING_AUDIBLE", "SPEAKING_NOT_AUDIBLE"])


def make_frames(seed: int, rows: int = 3000, score_decimals: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GT and shuffled predictions with many score ties and SPEAKING_NOT_AUDIBLE rows."""
    rng = np.random.default_rng(seed)
    entity = rng.integers(0, 40, size=rows)
    frame_no = np.arange(rows)
    video = np.array([f"vid{e % 5}_x-{e % 3}" for e in entity])
    timestamps = np.round(900.0 + frame_no * 0.04 + (entity % 3) * 0.01, 2)
    labels = LABELS[rng.choice(3, size=rows, p=[0.55, 0.35, 0.10])]
    boxes = rng.random((rows, 4)).round(6)
    gt = pd.DataFrame({"video_id": video, "frame_timestamp": timestamps, "entity_box_x1": boxes[:, 0],
                       "entity_box_y1": boxes[:, 1], "entity_box_x2": boxes[:, 2], "entity_box_y2": boxes[:, 3],
                       "label": labels, "entity_id": [f"{v}_900_930:{e}" for v, e in zip(video, entity, strict=True)]})
    signal = (labels == "SPEAKING_AUDIBLE") * 0.3 + rng.random(rows) * 0.7
    pred = gt.assign(label="SPEAKING_AUDIBLE", score=np.round(signal, score_decimals))
    pred = pred.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return gt, pred


def write(frame: pd.DataFrame, path, header: bool = False) -> str:
    frame.to_csv(path, index=False, header=header)
    return str(path)


@pytest.mark.parametrize("seed,decimals", [(0, 1), (1, 2), (2, 3), (3, 0)])
def test_equals_reference_without_header(tmp_path, seed, decimals):
    gt, pred = make_frames(seed, score_decimals=decimals)
    gt_path, pred_path = write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv")
    expected = reference_ap(gt_path, pred_path)
    result = score_csv(gt_path, pred_path)
    assert abs(result.ap - expected) <= 1e-9
    assert result.rows == len(gt) and result.positives == int((gt["label"] == "SPEAKING_AUDIBLE").sum())


def test_equals_reference_with_headers_and_merged_columns(tmp_path):
    gt, pred = make_frames(5)
    gt = gt.assign(label_id=gt["label"].map({"NOT_SPEAKING": 0, "SPEAKING_AUDIBLE": 1, "SPEAKING_NOT_AUDIBLE": 2}),
                   instance_id="x")
    pred = pred.assign(label_id=1)[list(pred.columns[:8]) + ["label_id", "score"]]
    gt_path, pred_path = write(gt, tmp_path / "gt.csv", True), write(pred, tmp_path / "pred.csv", True)
    expected = reference_ap(gt_path, pred_path, gt_header=True, pred_header=True)
    assert abs(score_csv(gt_path, pred_path).ap - expected) <= 1e-9


def test_ties_follow_ground_truth_order(tmp_path):
    # All scores tie: the official order (pandas descending sort of GT-ordered rows) decides the AP.
    gt, pred = make_frames(7, rows=200)
    pred["score"] = 0.5
    gt_path, pred_path = write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv")
    assert abs(score_csv(gt_path, pred_path).ap - reference_ap(gt_path, pred_path)) <= 1e-9


def test_ap_by_hand(tmp_path):
    # Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (SPEAKING_NOT_AUDIBLE = negative):
    # precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1 -> AP = 0.5 * 1 + 0.5 * 2/3.
    rows = [("v", 1.0, "SPEAKING_AUDIBLE", 0.9), ("v", 1.04, "NOT_SPEAKING", 0.8),
            ("v", 1.08, "SPEAKING_AUDIBLE", 0.7), ("v", 1.12, "SPEAKING_NOT_AUDIBLE", 0.1)]
    gt = pd.DataFrame([(v, t, 0.1, 0.1, 0.5, 0.5, lab, "v_1_2:0") for v, t, lab, _ in rows])
    pred = pd.DataFrame([(v, t, 0.1, 0.1, 0.5, 0.5, "SPEAKING_AUDIBLE", "v_1_2:0", s) for v, t, _, s in rows])
    result = score_csv(write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv"))
    assert result.ap == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)


def test_per_category_equals_reference_on_subsets(tmp_path):
    gt, pred = make_frames(11)
    categories = {"vid0_x-0": "OC", "vid1_x-1": "OC", "vid2_x-2": "SI", "vid3_x-0": "SI", "vid4_x-1": "HVN"}
    result = score_csv(write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv"), categories)
    for name in ("OC", "SI", "HVN"):
        videos = [v for v, c in categories.items() if c == name]
        sub_gt, sub_pred = gt[gt.video_id.isin(videos)], pred[pred.video_id.isin(videos)]
        expected = reference_ap(write(sub_gt, tmp_path / f"g{name}.csv"), write(sub_pred, tmp_path / f"p{name}.csv"))
        assert abs(result.per_category[name].ap - expected) <= 1e-9
        assert result.per_category[name].rows == len(sub_gt)


def _error(tmp_path, gt: pd.DataFrame, pred: pd.DataFrame) -> str:
    with pytest.raises(ScoringError) as info:
        score_csv(write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv"))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_inputs_give_one_line_errors(tmp_path):
    gt, pred = make_frames(3, rows=50)
    assert "counts must be equal" in _error(tmp_path, gt, pred.iloc[:-1])
    wrong_label = pred.copy()
    wrong_label.loc[4, "label"] = "NOT_SPEAKING"
    assert "row 5" in _error(tmp_path, gt, wrong_label) and "SPEAKING_AUDIBLE" in _error(tmp_path, gt, wrong_label)
    no_score = pred.copy()
    no_score.loc[2, "score"] = np.nan
    assert "row 3: missing score" in _error(tmp_path, gt, no_score)
    moved = pred.copy()
    moved.loc[6, "entity_box_x1"] += 1e-6
    assert "row 7: box differs" in _error(tmp_path, gt, moved)
    other = pred.copy()
    other.loc[0, "entity_id"] = "somebody_else:9"
    assert "no prediction for" in _error(tmp_path, gt, other)
    twice = pred.copy()
    twice.loc[1, ["frame_timestamp", "entity_id"]] = twice.loc[0, ["frame_timestamp", "entity_id"]].to_numpy()
    assert "duplicate uid" in _error(tmp_path, gt, twice)
    text_time = gt.astype({"frame_timestamp": object})
    text_time.loc[9, "frame_timestamp"] = "ten"
    assert "row 10: frame_timestamp 'ten' is not a number" in _error(tmp_path, text_time, pred)


def test_header_detection_and_row_numbers(tmp_path):
    gt, _ = make_frames(4, rows=20)
    headed = read_ava_csv(write(gt, tmp_path / "h.csv", header=True))
    plain = read_ava_csv(write(gt, tmp_path / "p.csv", header=False))
    assert headed["_row"].iat[0] == 2 and plain["_row"].iat[0] == 1
    assert np.array_equal(headed["frame_timestamp"].to_numpy(), plain["frame_timestamp"].to_numpy())


def test_cli_prints_ap_and_writes_json(tmp_path):
    gt, pred = make_frames(8, rows=400)
    gt_path, pred_path = write(gt, tmp_path / "gt.csv"), write(pred, tmp_path / "pred.csv")
    out = CliRunner().invoke(score_command, ["--gt", gt_path, "--pred", pred_path, "--json", str(tmp_path / "m.json")])
    assert out.exit_code == 0, out.output
    expected = reference_ap(gt_path, pred_path)
    assert f"AP {expected:.9f}" in out.output
    assert pd.read_json(tmp_path / "m.json", typ="series")["rows"] == 400
    bad = CliRunner().invoke(score_command, ["--gt", gt_path, "--pred", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 1 and "missing.csv: file not found" in bad.output
