"""Checkpoints: weights_only round trip, atomic writes, one-line errors for foreign or broken files."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
import torchvision

from asd_explain._version import __version__
from asd_explain.models import ASDModel, ModelConfig
from asd_explain.train.checkpoint import (
    CheckpointError,
    Preprocessing,
    atomic_torch_save,
    capture_rng_state,
    load_checkpoint,
    load_model,
    make_checkpoint,
    restore_rng_state,
)

SMALL = ModelConfig(modalities=("audio", "face"), visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32),
                    embed_dim=32, temporal_hidden=16)


def saved(tmp_path, config=SMALL, **extra):
    model = ASDModel(config).eval()
    path = atomic_torch_save(make_checkpoint(model, preprocessing=Preprocessing(n_mels=40), **extra),
                             tmp_path / "c.pt")
    return model, path


def test_round_trip_with_weights_only(tmp_path):
    model, path = saved(tmp_path)
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == __version__ and raw["preprocessing"]["face_size"] == 112
    assert raw["model_config"]["modalities"] == ["audio", "face"]
    loaded, checkpoint = load_model(path)
    x = {"face": torch.randn(1, 4, 1, 32, 32), "audio": torch.randn(1, 16, 40)}
    with torch.no_grad():
        assert torch.equal(model(**x)["logits"], loaded(**x)["logits"])
    assert not loaded.training
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # usual permissions, not mkstemp's 0600


def test_rng_state_round_trip():
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    state = capture_rng_state()
    first = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path):
    _, path = saved(tmp_path)
    before = path.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_torch_save({"x": Unpicklable()}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_truncated_checkpoint(tmp_path):
    _, path = saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as error:
        load_model(path)
    assert str(path) in one_line(error) and "truncated" in one_line(error)


def test_checkpoint_of_another_architecture(tmp_path):
    bare = tmp_path / "resnet.pt"
    torch.save(torchvision.models.resnet18(num_classes=2).state_dict(), bare)
    with pytest.raises(CheckpointError) as error:
        load_model(bare)
    assert "not an asd_explain checkpoint" in one_line(error) and "bare state_dict" in one_line(error)
    model, path = saved(tmp_path)
    other = torch.load(path, weights_only=True)
    other["architecture"] = "image_classifier"
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="architecture 'image_classifier'"):
        load_checkpoint(tmp_path / "other.pt")


def test_weights_that_do_not_fit_their_config(tmp_path):
    _, path = saved(tmp_path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["model_config"]["embed_dim"] = 64
    torch.save(checkpoint, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError) as error:
        load_model(tmp_path / "mixed.pt")
    assert "weights do not fit" in one_line(error) and "shape mismatch" in one_line(error)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint file not found"):
        load_model(tmp_path / "nope.pt")


def test_evaluate_cli_reports_a_broken_checkpoint_on_one_line(tmp_path):
    from click.testing import CliRunner

    from asd_explain.cli.evaluate import command

    _, path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    result = CliRunner().invoke(command, ["--checkpoint", str(path), "--data", str(tmp_path), "--out",
                                          str(tmp_path / "out")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "truncated" in result.output
