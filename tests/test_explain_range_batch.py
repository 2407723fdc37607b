"""``explain`` over a time range (only the range is decoded; timestamps stay absolute) and over a folder of
videos (resumable after ``kill -9``: finished videos are not redone; one index.csv)."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from asd_explain.metrics.ava_scoring import read_ava_csv
from asd_explain.pipeline.explain_video import ExplainVideoOptions, explain_video

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(untrained_checkpoint):
    return untrained_checkpoint


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from data_prep.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("synth"), preset="tiny", videos=3, seconds=4.0, seed=21, workers=1,
                           progress=False)


def test_time_range_keeps_absolute_times_and_equals_the_full_run(corpus, checkpoint, tmp_path):
    video = sorted((corpus / "videos").glob("*.mp4"))[0]
    base = dict(boxes_csv=str(corpus / "annotations"), progress=False)
    full = explain_video(video, checkpoint, tmp_path / "full", ExplainVideoOptions(**base, render=False))
    part = explain_video(video, checkpoint, tmp_path / "part", ExplainVideoOptions(**base, start_s=1.5, end_s=3.0))
    assert part["time_range_s"][0] == pytest.approx(1.5, abs=0.05) and part["frames"] < full["frames"]
    scores = read_ava_csv(tmp_path / "part" / "scores.csv", predictions=True)
    assert scores.frame_timestamp.min() >= 1.5 - 0.05 and scores.frame_timestamp.max() < 3.0
    assert not any("past the video" in i for i in part["track_source"]["issues"])
    whole = read_ava_csv(tmp_path / "full" / "scores.csv", predictions=True)
    same = whole.merge(scores, on=["entity_id", "frame_timestamp"], suffixes=("_full", "_part"))
    assert len(same) == len(scores)  # every row of the range is a row of the full run, at the same time
    with __import__("av").open(str(tmp_path / "part" / f"{video.stem}_explained.mp4")) as container:
        assert container.streams.video[0].frames == part["frames"]


def _index(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["video_id"]: row for row in csv.DictReader(handle)}


def test_folder_of_videos_resumes_after_kill_9_without_redoing_finished_videos(corpus, checkpoint, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "asd_explain.cli.main", "explain", str(corpus / "videos"), "--checkpoint",
            str(checkpoint), "--out", str(out), "--boxes", str(corpus / "annotations"), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "index.csv").is_file() and len(_index(out / "index.csv")) >= 1:
            break
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first = _index(out / "index.csv")
    assert 1 <= len(first) < 3 and all(r["status"] == "ok" for r in first.values())
    stamps = {v: os.stat(r["summary_json"]).st_mtime_ns for v, r in first.items()}
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    final = _index(out / "index.csv")
    assert sorted(final) == sorted(p.stem for p in (corpus / "videos").glob("*.mp4"))
    assert all(r["status"] == "ok" and Path(r["scores_csv"]).is_file() for r in final.values())
    for video_id, stamp in stamps.items():  # finished before the kill: not redone
        assert os.stat(final[video_id]["summary_json"]).st_mtime_ns == stamp
        assert f"{video_id}: ok (finished in an earlier run)" in result.stdout
    assert np.all([len(read_ava_csv(r["scores_csv"], predictions=True)) > 0 for r in final.values()])


def test_audio_from_a_separate_file_replaces_the_soundtrack(corpus, checkpoint, tmp_path):
    """``explain --audio FILE``: a wav of the video's own soundtrack gives the same scores; silence changes them."""
    from scipy.io import wavfile

    from asd_explain.media.decode import decode_audio, probe_streams

    video = sorted((corpus / "videos").glob("*.mp4"))[0]
    samples, t0 = decode_audio(video, 0.0, 10.0, probe_streams(video).video_start_s, seek=False)
    assert abs(t0) < 1e-3
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)
    wavfile.write(tmp_path / "own.wav", 16000, pcm)
    wavfile.write(tmp_path / "silence.wav", 16000, np.zeros_like(pcm))
    base = dict(boxes_csv=str(corpus / "annotations"), progress=False, render=False)
    explain_video(video, checkpoint, tmp_path / "video", ExplainVideoOptions(**base))
    own = explain_video(video, checkpoint, tmp_path / "own",
                        ExplainVideoOptions(**base, audio_file=str(tmp_path / "own.wav")))
    explain_video(video, checkpoint, tmp_path / "silent",
                  ExplainVideoOptions(**base, audio_file=str(tmp_path / "silence.wav")))
    assert any("own.wav" in note for note in own["notes"])
    scores = {name: read_ava_csv(tmp_path / name / "scores.csv", predictions=True)["score"].to_numpy()
              for name in ("video", "own", "silent")}
    np.testing.assert_allclose(scores["own"], scores["video"], atol=2e-3)
    assert np.abs(scores["silent"] - scores["video"]).max() > 1e-3
