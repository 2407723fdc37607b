"""One atomic writer: files appear complete or not at all, with the usual permissions (0666 & ~umask)."""
from __future__ import annotations

import os
import pickle
import stat
from fractions import Fraction

import matplotlib
import numpy as np
import pytest
from _av_tiny import small_model

from asd_explain.atomic import PendingFile, atomic_path, atomic_write
from asd_explain.config import atomic_save_figure, atomic_write_text, save_config
from asd_explain.data.store import atomic_write_json
from asd_explain.explain.render import write_png
from asd_explain.models import ModelConfig
from asd_explain.pipeline.video_writer import Mp4Writer
from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint
from asd_explain.train.csv_log import CSVLog

matplotlib.use("Agg")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp." in p.name)


def test_toolkit_files_are_0644_under_umask_022(tmp_path, umask_022):
    import matplotlib.pyplot as plt

    save_config(ModelConfig(), tmp_path / "config.yaml")
    atomic_write_text(tmp_path / "metrics.json", '{"ap": 0.5}\n')
    atomic_write_json(tmp_path / "index.json", {"tracks": {}})
    atomic_torch_save(make_checkpoint(small_model()), tmp_path / "best.pt")
    figure = plt.figure(figsize=(1, 1))
    atomic_save_figure(figure, tmp_path / "summary.png", dpi=20)
    plt.close(figure)
    write_png(tmp_path / "grid.png", np.zeros((4, 4, 3), np.uint8))
    log = CSVLog(tmp_path / "train_log.csv", ["step", "loss"])
    log.write({"step": 1, "loss": 0.5})
    with Mp4Writer(tmp_path / "explained.mp4", Fraction(25), 32, 32) as video:
        for _ in range(3):
            video.write(np.zeros((32, 32, 3), np.uint8))
    names = ["config.yaml", "metrics.json", "index.json", "best.pt", "summary.png", "grid.png",
             "train_log.csv", "explained.mp4"]
    assert {name: oct(_mode(tmp_path / name)) for name in names} == {name: "0o644" for name in names}
    assert (tmp_path / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _leftovers(tmp_path) == []


def test_umask_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.txt") == 0o600


@pytest.mark.parametrize("mode", ["w", "wb"])
def test_exception_leaves_nothing_half_written(tmp_path, mode):
    data = "new content" if mode == "w" else b"new content"
    fresh, existing = tmp_path / "fresh.txt", tmp_path / "existing.txt"
    existing.write_text("old content")
    for target in (fresh, existing):
        with pytest.raises(RuntimeError, match="boom"):
            with atomic_write(target, mode) as handle:
                handle.write(data[:3])
                raise RuntimeError("boom")
    assert not fresh.exists()
    assert existing.read_text() == "old content"
    assert _leftovers(tmp_path) == []
    with atomic_write(existing, mode, fsync=True) as handle:
        handle.write(data)
    assert existing.read_text() == "new content"


def test_checkpoint_that_fails_to_pickle_keeps_the_old_file(tmp_path):
    path = atomic_torch_save({"format": "x", "value": 1}, tmp_path / "last.pt")
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        atomic_torch_save({"format": "x", "bad": lambda: None}, path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


def test_atomic_path_keeps_suffix_and_exclusive_keeps_the_first(tmp_path):
    target = tmp_path / "manifest.json"
    with atomic_path(target) as tmp:  # never named *.json: readers globbing for the real files skip it
        assert tmp.parent == tmp_path and tmp.name.startswith(".manifest.json.tmp.") and tmp.suffix != ".json"
        tmp.write_text("first")
    with atomic_path(tmp_path / "video.mp4", keep_suffix=True) as tmp:
        assert tmp.suffix == ".mp4" and tmp.name.startswith(".video.tmp.")
        tmp.write_text("x")
    with atomic_write(target, "w", exclusive=True) as handle:
        handle.write("second")
    assert target.read_text() == "first" and _leftovers(tmp_path) == []


def test_pending_file_discard_and_bad_mode(tmp_path):
    pending = PendingFile(tmp_path / "sub" / "video.mp4", keep_suffix=True)
    assert pending.tmp.exists() and pending.tmp.suffix == ".mp4"
    pending.discard()
    assert not pending.tmp.exists() and not (tmp_path / "sub" / "video.mp4").exists()
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "x", "a"):
            pass
