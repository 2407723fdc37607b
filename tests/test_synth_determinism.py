"""Same seed -> same CSV bytes and decoded frames (whatever the worker count); another seed -> different;
a stopped run resumes; the CLI wraps it with one-line errors."""
from __future__ import annotations

import json

import decord
import numpy as np
import pytest
from click.testing import CliRunner

from data_prep.commands.synth import command
from data_prep.synth import CorpusError, generate_corpus

CSVS = ("metadata.csv", "annotations/train_orig.csv", "annotations/train_orig_body.csv")


def _frames(corpus, video_id):
    return decord.VideoReader(str(corpus / "videos" / f"{video_id}.mp4"))[:].asnumpy()


def _ids(corpus):
    return json.loads((corpus / "corpus.json").read_text())["video_ids"]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    a = generate_corpus(root / "a", preset="tiny", seed=7, workers=1, progress=False)
    b = generate_corpus(root / "b", preset="tiny", seed=7, workers=2, progress=False)
    c = generate_corpus(root / "c", preset="tiny", seed=8, workers=2, progress=False)
    return a, b, c


def test_same_seed_same_bytes_and_frames(three):
    a, b, _ = three
    for name in CSVS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for vid in _ids(a):
        name = f"annotations/per_video/{vid}-activespeaker.csv"
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert np.array_equal(_frames(a, vid), _frames(b, vid))
        # stronger than asked: the encoded files are byte-identical too
        assert (a / "videos" / f"{vid}.mp4").read_bytes() == (b / "videos" / f"{vid}.mp4").read_bytes()


def test_other_seed_other_videos(three):
    a, _, c = three
    assert _ids(a) != _ids(c)
    assert (a / CSVS[1]).read_bytes() != (c / CSVS[1]).read_bytes()
    frames_a, frames_c = _frames(a, _ids(a)[0]), _frames(c, _ids(c)[0])
    n = min(len(frames_a), len(frames_c))
    assert np.abs(frames_a[:n].astype(int) - frames_c[:n]).mean() > 10


def test_resume_rewrites_only_missing_videos(three, tmp_path):
    a, _, _ = three
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    vid = _ids(a)[1]
    (copy / "annotations" / "per_video" / f"{vid}-activespeaker.csv").unlink()
    (copy / "annotations" / "train_orig.csv").unlink()
    kept = (copy / "videos" / f"{_ids(a)[0]}.mp4").stat().st_mtime_ns
    generate_corpus(copy, preset="tiny", seed=7, workers=1, progress=False)
    assert (copy / "videos" / f"{_ids(a)[0]}.mp4").stat().st_mtime_ns == kept  # not remade
    for name in CSVS:
        assert (a / name).read_bytes() == (copy / name).read_bytes()
    with pytest.raises(CorpusError, match="other settings"):
        generate_corpus(copy, preset="tiny", seed=9, workers=1, progress=False)


def test_a_failing_video_is_reported_and_skipped(tmp_path, monkeypatch, caplog):
    from data_prep.synth import video

    real = video.generate_video

    def flaky(spec, out_dir):
        if spec.index == 1:
            raise RuntimeError("disk on fire")
        return real(spec, out_dir)

    monkeypatch.setattr(video, "generate_video", flaky)
    out = generate_corpus(tmp_path / "f", preset="tiny", seed=7, workers=1, progress=False)
    description = json.loads((out / "corpus.json").read_text())
    assert not description["complete"] and description["failed_video_ids"] == ["syn7-0001"]
    assert description["video_ids"] == ["syn7-0000", "syn7-0002"]
    assert "syn7-0001 failed: RuntimeError: disk on fire" in caplog.text
    merged = (out / "annotations" / "train_orig.csv").read_text()
    assert "syn7-0000," in merged and "syn7-0002," in merged and "syn7-0001" not in merged
    monkeypatch.setattr(video, "generate_video", real)  # a second run makes the missing video
    generate_corpus(out, preset="tiny", seed=7, workers=1, progress=False)
    assert json.loads((out / "corpus.json").read_text())["complete"]


def test_cli(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(command, ["--out", str(out), "--videos", "1", "--seconds", "1.5", "--size", "160x96",
                                     "--categories", "si", "--fps", "25", "--split", "val", "--seed", "4",
                                     "--quiet"])
    assert result.exit_code == 0, result.output
    meta = (out / "metadata.csv").read_text().splitlines()
    assert len(meta) == 2 and ",SI,25.0,25,1,160,96," in meta[1]
    assert (out / "annotations" / "val_orig.csv").is_file() and (out / "annotations" / "val_orig_body.csv").is_file()
    bad = runner.invoke(command, ["--out", str(tmp_path / "x"), "--size", "640by360"])
    assert bad.exit_code == 2 and "must look like 640x360" in bad.output
    bad = runner.invoke(command, ["--out", str(tmp_path / "x"), "--categories", "OC,XX"])
    assert bad.exit_code == 2 and "unknown category 'XX'" in bad.output
    again = runner.invoke(command, ["--out", str(out), "--videos", "2", "--quiet"])
    assert again.exit_code == 1 and "other settings" in again.output
