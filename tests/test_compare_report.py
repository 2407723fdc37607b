"""compare_explainers on a tiny SE model and generated shapes: every file, consistent numbers, resume, CLI."""
from __future__ import annotations

import csv
import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from asd_explain import cli as cli_package
from asd_explain.cli import registry
from asd_explain.cli.main import cli
from asd_explain.config import config_from_dict
from asd_explain.explain.compare import CompareConfig, compare_explainers
from asd_explain.explain.se_explainer import SEExplainer
from asd_explain.image.datasets import build_image_dataset
from asd_explain.image.recipe import ImageRunConfig, train_classifier
from asd_explain.metrics.deletion import CausalSettings, deletion_insertion
from asd_explain.metrics.pointing import pointing_game
from asd_explain.se.attach import attach_se

registry.register_commands(cli, cli_package)
SIZE = 32


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.fixture
def setup():
    model = SmallCNN()
    attach_se(model, reduction=4, example_input=torch.zeros(1, 3, SIZE, SIZE))
    dataset = build_image_dataset("shapes", split="test", image_size=SIZE, count=7)  # index 6: no object
    cfg = CompareConfig(methods=("se", "gradcam", "fullgrad"), count=7, batch_size=2,
                        causal=CausalSettings(steps=8), grid_images=3)
    return model.eval(), dataset, cfg


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_compare_writes_every_file_with_consistent_numbers(setup, tmp_path) -> None:
    model, dataset, cfg = setup
    result = compare_explainers(model, dataset, cfg, tmp_path, progress=False)
    for name in ("compare.md", "compare.csv", "compare.json", "per_image.csv", "compare_grid.png", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    report = json.loads((tmp_path / "compare.json").read_text())
    assert list(report["methods"]) == ["se", "gradcam", "fullgrad"]
    assert report["settings"]["step"] == 128 and report["settings"]["n_steps"] == 8  # 32*32 / 8
    assert report["settings"]["deletion_baseline"] == "zero" and report["settings"]["insertion_baseline"] == "blur"
    rows = read_csv(tmp_path / "per_image.csv")
    assert len(rows) == 3 * 7 and sorted({int(r["index"]) for r in rows}) == list(range(7))
    # the SE rows are what the metrics give on the SE maps of the same images
    images = torch.stack([dataset[i]["image"] for i in range(7)])
    masks = torch.stack([dataset[i]["mask"] for i in range(7)])
    maps = SEExplainer(model).explain(images).maps
    curves = deletion_insertion(model, images, maps, CausalSettings(steps=8))
    hits = pointing_game(maps, masks)
    se_rows = [r for r in rows if r["method"] == "se"]
    for i, row in enumerate(se_rows):
        assert float(row["deletion_auc"]) == pytest.approx(curves.deletion_auc[i].item(), abs=1e-6)
        assert float(row["insertion_auc"]) == pytest.approx(curves.insertion_auc[i].item(), abs=1e-6)
        if i < 6:
            assert float(row["pointing_hit"]) == float(hits[i])
        else:  # the background-only image has nothing to point at: no pointing, no energy
            assert row["pointing_hit"] == "" and row["energy_in_mask"] == ""
    summary = report["methods"]["se"]
    assert summary["deletion_auc"] == pytest.approx(curves.deletion_auc.mean().item(), abs=1e-6)
    assert summary["pointing_game_pct"] == pytest.approx(100 * hits[:6].float().mean().item())
    assert summary["ms_per_explanation"] > 0
    table = read_csv(tmp_path / "compare.csv")
    assert [r["method"] for r in table] == ["se", "gradcam", "fullgrad"] and table[0]["step"] == "128"
    markdown = (tmp_path / "compare.md").read_text()
    assert "| se |" in markdown
    gradcam = report["methods"]["gradcam"]
    se_minus = f"{summary['insertion_auc'] - gradcam['insertion_auc']:+.4f}"
    assert f"| gradcam | {se_minus} |" in markdown.split("SE relative to each method")[1]
    assert len(result.curves["gradcam"]["deletion"]) == 9


def test_compare_resumes_from_its_journal(setup, tmp_path) -> None:
    model, dataset, cfg = setup
    first = compare_explainers(model, dataset, cfg, tmp_path, progress=False)
    journal = tmp_path / "progress.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 4 * 3  # 4 batches x 3 methods
    journal.write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])  # a crash mid-line
    second = compare_explainers(model, dataset, cfg, tmp_path, progress=False)
    assert len(journal.read_text().splitlines()) >= 12
    for method in cfg.methods:
        a = [r["deletion_auc"] for r in first.methods[method].rows]
        b = [r["deletion_auc"] for r in second.methods[method].rows]
        assert a == pytest.approx(b, abs=1e-6)
    other = CompareConfig(methods=("se",), count=2, batch_size=2, causal=CausalSettings(steps=4), grid_images=0)
    compare_explainers(model, dataset, other, tmp_path, progress=False)  # other settings: fresh journal
    assert len(journal.read_text().splitlines()) == 1
    assert list(tmp_path.glob("progress.*.old.jsonl"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = config_from_dict(ImageRunConfig, {
        "data": {"image_size": 64, "train_count": 16, "val_count": 4},
        "train": {"epochs": 1, "batch_size": 8, "device": "cpu"},
    })
    train_classifier(cfg, out)
    return out / "checkpoint.pt"


@pytest.mark.slow
def test_cli_compare_runs_end_to_end(checkpoint, tmp_path) -> None:
    result = CliRunner().invoke(cli, [
        "image", "compare", "--checkpoint", str(checkpoint), "--out", str(tmp_path), "--methods", "se,gradcam",
        "--count", "4", "--batch-size", "4", "--steps", "4", "--grid", "2", "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output
    assert "gradcam" in result.output and "compare.md" in result.output
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["info"]["arch"] == "resnet18" and report["settings"]["n_steps"] == 4


def test_cli_errors_name_what_is_valid(checkpoint, tmp_path) -> None:
    runner = CliRunner()
    bad_method = runner.invoke(cli, ["image", "compare", "--checkpoint", str(checkpoint), "--out", str(tmp_path),
                                     "--methods", "se,gradcan"])
    assert bad_method.exit_code != 0
    assert "unknown method 'gradcan' (valid: se, gradcam, gradcam++, eigengradcam, fullgrad" in bad_method.output
    bad_layer = runner.invoke(cli, ["image", "compare", "--checkpoint", str(checkpoint), "--out", str(tmp_path),
                                    "--methods", "gradcam", "--target-layer", "layer5", "--count", "2"])
    assert bad_layer.exit_code != 0
    assert "no target layer 'layer5' in ResNet; its layers: conv1" in bad_layer.output
    assert "layer4" in bad_layer.output and "se_explain" in bad_layer.output
