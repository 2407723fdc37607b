"""Every AVA-format CSV the toolkit writes passes the official scorer's reading rules (``_ava_reference``:
``header=None``, 8 / 9 columns, uid = str(timestamp) + ":" + entity_id, equal unique rows, boxes within 1e-9);
predictions cover the official ground truth even when preparation skipped a video (filled, counted)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from _ava_reference import check_official_pair, official_read, reference_ap
from click.testing import CliRunner

from asd_explain.analysis.attention import write_ava_csvs
from asd_explain.cli.evaluate import command as evaluate_command
from asd_explain.cli.score_csv import command as score_command
from asd_explain.metrics.ava_csv import complete_predictions, write_ava_csv
from asd_explain.metrics.ava_scoring import AVA_COLUMNS, read_ava_csv, score_csv


def ground_truth(videos=("a", "b"), frames=4) -> pd.DataFrame:
    rows = []
    for v in videos:
        for e in range(2):
            for f in range(frames):
                rows.append([v, round(900.0 + f * 0.04 + 1e-3 / 3, 9), 0.1 * e, 0.2, 0.3 + 0.1 * e, 0.7 + 1 / 3,
                             "SPEAKING_AUDIBLE" if (f + e) % 2 else "NOT_SPEAKING", f"{v}:{e}"])
    return pd.DataFrame(rows, columns=AVA_COLUMNS)


def test_written_files_follow_the_official_reading_rules_and_our_reader(tmp_path):
    gt = ground_truth()
    pred = gt.assign(score=np.linspace(0, 1, len(gt)), label="SPEAKING_AUDIBLE")
    write_ava_csv(gt, tmp_path / "gt.csv")
    write_ava_csv(pred, tmp_path / "pred.csv", predictions=True)
    assert not (tmp_path / "gt.csv").read_text().startswith("video_id")
    assert check_official_pair(tmp_path / "gt.csv", tmp_path / "pred.csv") == len(gt)
    back = official_read(tmp_path / "pred.csv", True)
    assert back["frame_timestamp"].tolist() == gt["frame_timestamp"].tolist()  # floats round-trip exactly
    # our reader takes the headerless file and the old headed one alike
    pred.to_csv(tmp_path / "headed.csv", index=False)
    assert score_csv(tmp_path / "gt.csv", tmp_path / "headed.csv").ap == score_csv(tmp_path / "gt.csv",
                                                                                   tmp_path / "pred.csv").ap
    assert abs(score_csv(tmp_path / "gt.csv", tmp_path / "pred.csv").ap
               - reference_ap(tmp_path / "gt.csv", tmp_path / "pred.csv")) <= 1e-12


def test_analysis_csvs_follow_the_official_rules(tmp_path):
    frames = ground_truth().assign(score=np.arange(16) / 16)
    gt_csv, pred_csv = write_ava_csvs(frames, tmp_path)
    assert check_official_pair(gt_csv, pred_csv) == 16


def test_complete_predictions_fills_missing_rows_and_drops_extra_ones():
    gt = ground_truth()
    scores = gt[gt.video_id == "a"][["entity_id", "frame_timestamp"]].assign(score=0.75)
    extra = pd.DataFrame({"entity_id": ["zz:0"], "frame_timestamp": [1.0], "score": [0.9]})
    done = complete_predictions(gt, pd.concat([scores, extra]), fill_score=0.25)
    assert done.filled_rows == 8 and done.dropped_rows == 1 and done.filled_videos == {"b": 8}
    assert done.frame["score"].tolist() == [0.75] * 8 + [0.25] * 8
    assert (done.frame[AVA_COLUMNS[:6] + ["entity_id"]].to_numpy() == gt[AVA_COLUMNS[:6] + ["entity_id"]]
            .to_numpy()).all()


def test_score_csv_fill_missing(tmp_path):
    gt = ground_truth()
    write_ava_csv(gt, tmp_path / "gt.csv")
    partial = gt[gt.video_id == "a"].assign(score=np.linspace(0.1, 0.9, 8))
    write_ava_csv(partial, tmp_path / "partial.csv", predictions=True)
    refused = CliRunner().invoke(score_command, ["--gt", str(tmp_path / "gt.csv"), "--pred",
                                                 str(tmp_path / "partial.csv")])
    assert refused.exit_code != 0 and "counts must be equal" in refused.output
    out = CliRunner().invoke(score_command, ["--gt", str(tmp_path / "gt.csv"), "--pred", str(tmp_path / "partial.csv"),
                                             "--fill-missing", "0", "--write-filled", str(tmp_path / "full.csv"),
                                             "--json", str(tmp_path / "r.json")])
    assert out.exit_code == 0, out.output
    assert "filled 8 ground-truth rows" in out.output and "(1 video)" in out.output
    assert check_official_pair(tmp_path / "gt.csv", tmp_path / "full.csv") == 16
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["filled_rows"] == 8 and result["filled_videos"] == {"b": 8}
    assert abs(result["ap"] - reference_ap(tmp_path / "gt.csv", tmp_path / "full.csv")) <= 1e-12


@pytest.mark.slow
def test_store_missing_a_video_still_gives_an_official_predictions_file(untrained_checkpoint, tmp_path):
    from data_prep.prepare import prepare_store
    from data_prep.synth import generate_corpus

    corpus = generate_corpus(tmp_path / "corpus", preset="tiny", seed=7, split="val", workers=1,
                             progress=False)
    videos = sorted((corpus / "videos").glob("*.mp4"))
    kept = tmp_path / "videos"
    kept.mkdir()
    for video in videos[1:]:  # the first video is "missing" on this machine
        shutil.copy(video, kept / video.name)
    report = prepare_store("ava", kept, corpus / "annotations", tmp_path / "store", split="val", progress=False)
    assert report.videos_skipped == 1 and report.rows_skipped > 0
    per_video = sorted((corpus / "annotations" / "per_video").glob("*.csv"))
    official = tmp_path / "official_val.csv"  # the official GT: per-video files concatenated, no header
    official.write_text("".join(p.read_text() for p in per_video))
    out = CliRunner().invoke(evaluate_command, ["--checkpoint", str(untrained_checkpoint), "--data",
                                                str(tmp_path / "store"), "--split", "val", "--out",
                                                str(tmp_path / "eval"), "--quiet", "--gt",
                                                str(corpus / "annotations" / "per_video")])
    assert out.exit_code == 0, out.output
    missing_rows = len(read_ava_csv(per_video[0]))
    assert f"filled {missing_rows} ground-truth rows" in out.output and videos[0].stem in out.output
    rows = check_official_pair(official, tmp_path / "eval" / "predictions.csv")
    assert rows == len(official_read(official, False))
    assert check_official_pair(tmp_path / "eval" / "ground_truth.csv", tmp_path / "eval" / "predictions.csv") == rows
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["filled_rows"] == missing_rows and metrics["fill_score"] == 0.0
    assert metrics["filled_videos"] == {videos[0].stem: missing_rows}
    assert abs(metrics["ap"] - reference_ap(official, tmp_path / "eval" / "predictions.csv")) <= 1e-9
    filled = official_read(tmp_path / "eval" / "predictions.csv", True)
    assert (filled.loc[filled.video_id == videos[0].stem, "score"] == 0.0).all()
