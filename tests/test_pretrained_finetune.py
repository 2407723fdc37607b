"""``asd-explain train --init light-asd``: fine-tune the published model on a labelled store, resume, evaluate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _store import write_store
from click.testing import CliRunner

from asd_explain.cli.evaluate import command as evaluate_command
from asd_explain.cli.train import command as train_command
from asd_explain.data.store import Track
from asd_explain.models.light_asd import LightASD
from asd_explain.train.checkpoint import load_model

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT.parent / "shared" / "weights" / "light-asd" / "pretrain_AVA_CVPR.model"


def _track(i: int, n: int = 24) -> Track:
    rng = np.random.default_rng(i)
    labels = (np.arange(n) // 6 % 2).astype(np.int8)
    audio = rng.standard_normal(n * 640) * np.repeat(50.0 + 3000.0 * labels, 640)  # loud when speaking
    return Track(entity_id=f"v{i}_0_1:{i}", video_id=f"v{i}", fps=25.0, timestamps_s=np.arange(n) / 25.0,
                 labels=labels, face=rng.integers(0, 256, (n, 112, 112), dtype=np.uint8), body=None,
                 face_boxes=np.tile([0.2, 0.1, 0.6, 0.7], (n, 1)), body_boxes=None, audio=audio.astype(np.int16))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    if not WEIGHTS.is_file():
        pytest.skip(f"published light-asd weights not found at {WEIGHTS}")
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("finetune") / "store"
    write_store(root / "train", [_track(0), _track(1)])
    write_store(root / "val", [_track(2)])
    return root


def train_args(store: Path, run: Path, steps: int, *extra: str) -> list[str]:
    sets = [f"optim.max_steps={steps}", "data.clip_frames=12", "data.batch_frames=24", "data.num_workers=0",
            "threads=1", "progress=false", "device=cpu", "checkpoint_every_steps=1", *extra]
    return ["--config", str(ROOT / "configs" / "finetune_pretrained.yaml"), "--init", "light-asd",
            "--init-weights", str(WEIGHTS), "--store", str(store), "--run-dir", str(run)] + \
        [a for s in sets for a in ("--set", s)]


def test_fine_tune_resume_and_evaluate(store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(train_command, train_args(store, run, 2))
    assert result.exit_code == 0, result.output
    checkpoint = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["architecture"] == "light-asd" and checkpoint["progress"]["step"] == 2
    assert checkpoint["model_config"] == {"architecture": "light-asd", "se": False, "se_reduction": 16,
                                          "audio_squeeze": "frame", "se_activation": "relu"}
    assert checkpoint["preprocessing"]["audio_feature"] == "psf_mfcc"
    model, _ = load_model(run / "checkpoints" / "last.pt")
    assert isinstance(model, LightASD)
    published = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    tuned = model.state_dict()
    assert not torch.equal(tuned["head.weight"], published["lossAV.FC.weight"])  # trained from ...
    assert (tuned["head.weight"] - published["lossAV.FC.weight"]).abs().max() < 0.01  # ... the published weights

    again = CliRunner().invoke(train_command, train_args(store, run, 3))  # same run: resumes at step 2
    assert again.exit_code == 0, again.output
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["progress"]["step"] == 3

    scored = CliRunner().invoke(evaluate_command, ["--checkpoint", str(run / "checkpoints" / "last.pt"), "--data",
                                                   str(store), "--out", str(tmp_path / "eval"), "--quiet",
                                                   "--device", "cpu"])
    assert scored.exit_code == 0, scored.output
    assert len((tmp_path / "eval" / "predictions.csv").read_text().splitlines()) == 24


def test_fine_tune_rejects_toolkit_only_options(store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(train_command, train_args(store, tmp_path / "run", 1, "gate_l1=1.0"))
    assert result.exit_code != 0
    assert "init light-asd: gate_l1=1.0 need the toolkit's model" in result.output
    result = CliRunner().invoke(train_command, train_args(store, tmp_path / "run2", 1) + ["--init", "nope"])
    assert result.exit_code != 0 and "unknown pretrained model 'nope'" in result.output
