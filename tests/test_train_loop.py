"""The training loop on generated batches: it learns, logs, checkpoints, resumes exactly, runs under DDP."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from _asd_toy import toy_batches

from asd_explain.models import ModelConfig
from asd_explain.train.batches import ListBatchSource, shard_positions
from asd_explain.train.checkpoint import CheckpointError, load_checkpoint, load_model
from asd_explain.train.config import OptimConfig, TrainConfig
from asd_explain.train.csv_log import CSVLog
from asd_explain.train.loop import train

TESTS = Path(__file__).parent
SMALL = ModelConfig(visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32), embed_dim=32, temporal_hidden=16)


def config(run_dir, **optim) -> TrainConfig:
    settings = {"epochs": 3, "lr": 3e-3, **optim}
    return TrainConfig(model=SMALL, optim=OptimConfig(**settings), run_dir=str(run_dir), checkpoint_every_steps=0,
                       log_every_steps=1, progress=False)


def sources(train_count=12, val_count=4):
    return (ListBatchSource(toy_batches(0, train_count, size=32), shuffle=True),
            ListBatchSource(toy_batches(1, val_count, size=32)))


def log_steps(path) -> list[int]:
    with open(path) as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def test_shard_positions_cover_the_epoch_once():
    ranks = [shard_positions(11, r, 2) for r in range(2)]
    assert ranks == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]  # the odd batch out is dropped: equal step counts
    assert shard_positions(11, 1, 2, done=6) == [7, 9]
    assert shard_positions(10, 0, 1, done=4) == [4, 5, 6, 7, 8, 9]


def test_training_learns_the_toy_task_and_writes_its_outputs(tmp_path):
    train_source, val_source = sources()
    result = train(config(tmp_path / "run", epochs=2), train_source, val_source, resume=False)
    assert result.progress.step == 24 and result.progress.epoch == 2
    assert result.progress.best_val_ap >= 0.85
    run = tmp_path / "run"
    with open(run / "val_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [12, 24]
    assert float(rows[-1]["val_ap"]) > float(rows[0]["val_ap"])
    assert log_steps(run / "train_log.csv") == list(range(1, 25))
    assert (run / "config.yaml").exists() and (run / "checkpoints" / "best.pt").exists()
    model, checkpoint = load_model(result.last_checkpoint)
    assert checkpoint["progress"]["step"] == 24 and checkpoint["train_config"]["optim"]["epochs"] == 2


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    train_source, val_source = sources(train_count=4, val_count=1)
    straight = train(config(tmp_path / "a", epochs=2), train_source, val_source, resume=False)
    first = train(config(tmp_path / "b", epochs=2, max_steps=6), train_source, val_source, resume=False)
    assert first.progress.step == 6 and first.progress.epoch == 1 and first.progress.batches_done == 2
    resumed = train(config(tmp_path / "b", epochs=2), train_source, val_source)
    assert resumed.progress.step == straight.progress.step == 8
    a = load_checkpoint(straight.last_checkpoint)["model_state"]
    b = load_checkpoint(resumed.last_checkpoint)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # same batches, same RNG: identical weights
    assert log_steps(tmp_path / "b" / "train_log.csv") == list(range(1, 9))


def test_validation_every_n_steps_and_after_the_last_step(tmp_path):
    train_source, val_source = sources(train_count=5, val_count=1)
    cfg = config(tmp_path / "run", epochs=1, max_steps=4)
    cfg.validate_every_steps = 3
    result = train(cfg, train_source, val_source, resume=False)
    assert result.progress.step == 4
    assert log_steps(tmp_path / "run" / "val_log.csv") == [3, 4]  # every 3 steps, then the stopping point


def test_resume_refuses_a_different_model(tmp_path):
    train_source, val_source = sources(train_count=2, val_count=1)
    train(config(tmp_path / "run", epochs=1), train_source, val_source, resume=False)
    other = config(tmp_path / "run", epochs=2)
    other.model = ModelConfig(visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32), embed_dim=32,
                              temporal_hidden=16, se=False)
    with pytest.raises(CheckpointError, match="holds a different model .se: True in the checkpoint"):
        train(other, train_source, val_source)


def test_csv_log_truncates_rows_after_the_resumed_step(tmp_path):
    log = CSVLog(tmp_path / "log.csv", ["step", "loss"])
    for step in range(1, 6):
        log.write({"step": step, "loss": 1.0 / step})
    log.truncate_after(3)
    log.write({"step": 4, "loss": 0.5})
    assert log_steps(tmp_path / "log.csv") == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="unknown log columns"):
        log.write({"step": 5, "epoch": 1})


def test_csv_log_resume_reopens_drops_unsaved_rows_and_refuses_other_columns(tmp_path):
    """The one training log (AV loop and image recipe): a crash after logging epoch 3 but before its
    checkpoint leaves a row the resumed run redoes; reopening keeps the header, other columns are an error."""
    path = tmp_path / "log.csv"
    first = CSVLog(path, ["epoch", "loss"])
    for epoch in (1, 2, 3):
        first.write({"epoch": epoch, "loss": 0.1 * epoch})
    resumed = CSVLog(path, ["epoch", "loss"])  # the checkpoint holds epoch 2
    resumed.truncate_after(2, column="epoch")
    resumed.write({"epoch": 3, "loss": 0.25})
    assert path.read_text() == "epoch,loss\n1,0.1\n2,0.2\n3,0.25\n"
    with pytest.raises(ValueError, match=r"log.csv: existing log has columns \['epoch', 'loss'\]"):
        CSVLog(path, ["step", "loss"])
    with pytest.raises(ValueError, match="no 'step' column"):
        resumed.truncate_after(1)


SCRIPT = """
import os, sys
sys.path.insert(0, {tests!r})
import torch
from _asd_toy import toy_batches
from asd_explain.models import ModelConfig
from asd_explain.train.batches import ListBatchSource
from asd_explain.train.config import OptimConfig, TrainConfig
from asd_explain.train.loop import Trainer
model = ModelConfig(visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32), embed_dim=32, temporal_hidden=16)
cfg = TrainConfig(model=model, optim=OptimConfig(epochs={epochs}, lr=3e-3), run_dir={run!r}, threads=1,
                  checkpoint_every_steps={every}, log_every_steps=1, progress=False)
trainer = Trainer(cfg, ListBatchSource(toy_batches(0, 12, size=32), shuffle=True),
                  ListBatchSource(toy_batches(1, 4, size=32)))
result = trainer.run()
torch.save(trainer.model.state_dict(), os.path.join({run!r}, "rank%s.pt" % os.environ.get("RANK", "0")))
"""


def write_script(tmp_path, run, epochs=2, every=0) -> Path:
    path = tmp_path / "train_toy.py"
    path.write_text(textwrap.dedent(SCRIPT.format(tests=str(TESTS), run=str(run), epochs=epochs, every=every)))
    return path


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tmp_path):
    run = tmp_path / "ddp"
    script = write_script(tmp_path, run, epochs=4)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29517", str(script)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rank0, rank1 = (torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0 if "running" not in k and "num_batches" not in k)
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["progress"]["step"] == 24 and checkpoint["world_size"] == 2  # 12 batches x 4 epochs / 2
    assert checkpoint["progress"]["best_val_ap"] >= 0.8


@pytest.mark.slow
def test_kill_9_then_resume_continues_the_step_count(tmp_path):
    run = tmp_path / "killed"
    script = write_script(tmp_path, run, epochs=4, every=2)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if last.exists() and load_checkpoint(last)["progress"]["step"] >= 6:
            break
        time.sleep(0.2)
    assert process.poll() is None, "training finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved_step = load_checkpoint(last)["progress"]["step"]
    assert 6 <= saved_step < 48
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_checkpoint(last)["progress"]["step"] == 48
    steps = log_steps(run / "train_log.csv")
    assert steps == list(range(1, 49))  # rows after the checkpoint were dropped, then the count went on
