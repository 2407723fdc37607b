"""The image recipe end to end on tiny settings: train, resume, evaluate, explain, CLI errors."""
import json

import pytest
import torch
from click.testing import CliRunner

from asd_explain import cli as cli_package
from asd_explain.cli import registry
from asd_explain.cli.main import cli
from asd_explain.config import ConfigError, config_from_dict
from asd_explain.image.explain import explain_classifier
from asd_explain.image.models import build_classifier, load_classifier
from asd_explain.image.recipe import ImageRunConfig, evaluate_classifier, train_classifier

registry.register_commands(cli, cli_package)


def tiny_config(epochs: int, se: bool = True) -> ImageRunConfig:
    return config_from_dict(ImageRunConfig, {
        "data": {"image_size": 64, "train_count": 32, "val_count": 8},
        "model": {"arch": "resnet18", "se": se},
        "train": {"epochs": epochs, "batch_size": 16, "device": "cpu"},
    })


def test_train_resume_evaluate_explain(tmp_path):
    out = tmp_path / "run"
    first = train_classifier(tiny_config(1), out)
    assert first["epoch"] == 1
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["config"]["model"]["se"] is True
    second = train_classifier(tiny_config(2), out)  # resumes: one more epoch only
    assert second["epoch"] == 2
    log_lines = (out / "log.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in log_lines] == ["epoch", "1", "2"]
    assert ckpt["config"]["train"]["gate_l1"] == 1.0  # the default with SE, resolved and saved
    assert "gate_l1: 1.0" in (out / "config.yaml").read_text()
    assert all(0.0 < float(line.split(",")[4]) < 1.0 for line in log_lines[1:])  # the gate_mean column
    result = evaluate_classifier(out / "checkpoint.pt", split="test", count=12, device="cpu")
    assert result["n"] == 12 and 0.0 <= result["accuracy"] <= 1.0
    summary = explain_classifier(out / "checkpoint.pt", tmp_path / "explain", count=12, grid_count=4, device="cpu")
    assert (tmp_path / "explain" / "se_heatmaps_test.png").stat().st_size > 1000
    assert 0.0 < summary["kept_channel_fraction_mean"] < 0.3
    saved = json.loads((tmp_path / "explain" / "explain_test.json").read_text())
    assert saved["images"] == 12 and "pointing_game" in saved
    per_class = saved["pointing_per_class"]  # the class tallies add up to the overall pointing game
    assert sum(c["images"] for c in per_class.values()) == saved["pointing_images"]
    hits = sum(c["pointing_game"] * c["images"] for c in per_class.values())
    assert hits == pytest.approx(saved["pointing_game"] * saved["pointing_images"])


def test_plain_model_has_no_se_and_cannot_be_explained(tmp_path):
    train_classifier(tiny_config(1, se=False), tmp_path / "plain")
    model, _ = load_classifier(tmp_path / "plain" / "checkpoint.pt")
    assert not hasattr(model, "se_explain")
    with pytest.raises(ValueError, match="without an SE block"):
        explain_classifier(tmp_path / "plain" / "checkpoint.pt", tmp_path / "x", count=4, device="cpu")


def test_checkpoint_errors_are_one_line(tmp_path):
    broken = tmp_path / "broken.pt"
    model = build_classifier("resnet18", 3)
    torch.save({"format": "asd_explain.image_classifier/1", "model": model.state_dict()}, broken)
    broken.write_bytes(broken.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"broken.pt: not a readable checkpoint \(truncated"):  # the one reader
        load_classifier(broken)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else/1"}, foreign)
    with pytest.raises(ValueError, match="format 'something-else/1'"):
        load_classifier(foreign)


def test_unknown_config_key_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  arch: resnet18\n  sqeeze: 3\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["image", "train", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "unknown key 'sqeeze'" in result.output and "bad.yaml" in result.output
    with pytest.raises(ConfigError, match="unknown key 'epoch'"):
        config_from_dict(ImageRunConfig, {"train": {"epoch": 1}})


def test_cli_rejects_unknown_arch_and_dataset(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["image", "train", "--arch", "resnet999", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "resnet18" in result.output
    result = runner.invoke(cli, ["image", "train", "--dataset", "cifar10", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "needs --root" in result.output


def _gate_mean_after_training(gate_l1: float) -> float:
    """Mean SE gate of a small CNN after 30 steps on fixed random data, with the recipe's epoch loop."""
    from torch import nn

    from asd_explain.image.recipe import _train_epoch
    from asd_explain.se import SECapture
    from asd_explain.se.attach import attach_se

    class Small(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            return self.fc(self.features(x).mean(dim=(2, 3)))

    torch.manual_seed(0)
    model = Small()
    attach_se(model, example_input=torch.zeros(1, 3, 16, 16), reduction=4)
    images, labels = torch.randn(96, 3, 16, 16), torch.arange(96) % 3
    loader = [{"image": images[i:i + 32], "label": labels[i:i + 32]} for i in range(0, 96, 32)] * 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    _, _, gate = _train_epoch(model, loader, optimizer, scheduler, "cpu", "test", model.se_explain, gate_l1)
    model.eval()
    with torch.no_grad(), SECapture({"se": model.se_explain}) as capture:
        model(images)
    assert not capture.gates["se"].requires_grad  # eval forwards keep no graph
    return float(capture.gates["se"].mean()), gate


def test_gate_l1_lowers_the_gate():
    free, free_train = _gate_mean_after_training(0.0)
    sparse, sparse_train = _gate_mean_after_training(5.0)
    assert 0.3 < free < 0.8  # the gate starts at about 0.5 and CE alone hardly moves its mean
    assert sparse < free - 0.2 and sparse_train < free_train - 0.1


def test_plain_model_resolves_gate_l1_to_off(tmp_path):
    train_classifier(tiny_config(1, se=False), tmp_path / "plain")
    ckpt = torch.load(tmp_path / "plain" / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["train"]["gate_l1"] == 0.0


def test_gate_l1_needs_an_se_block(tmp_path):
    cfg = tiny_config(1, se=False)
    cfg.train.gate_l1 = 1.0
    with pytest.raises(ValueError, match="gate_l1 needs the SE block"):
        train_classifier(cfg, tmp_path / "x")
