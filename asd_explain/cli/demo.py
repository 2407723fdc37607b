"""``asd-explain demo``: the embedded default job, offline, end to end."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("demo")
@click.option("--out", default="demo_output", show_default=True, type=click.Path(file_okay=False))
@click.option("--train-count", default=1800, show_default=True, help="Training images (more = better, slower).")
@click.option("--epochs", default=3, show_default=True)
@click.option("--device", default="auto", show_default=True)
def command(out: str, train_count: int, epochs: int, device: str) -> None:
    """Train resnet18 + SE on the generated `shapes` data, then explain held-out images with SE heatmaps."""
    from ..config import config_from_dict
    from ..image.explain import explain_classifier
    from ..image.recipe import ImageRunConfig, evaluate_classifier, train_classifier

    root = Path(out)
    cfg = config_from_dict(ImageRunConfig, {
        "data": {"dataset": "shapes", "train_count": train_count, "val_count": 300},
        "model": {"arch": "resnet18", "se": True},
        "train": {"epochs": epochs, "device": device},
    })
    click.echo(f"[1/3] training resnet18 + SE on shapes ({train_count} images, {epochs} epochs) -> {root / 'run'}")
    train_classifier(cfg, root / "run")
    checkpoint = root / "run" / "checkpoint.pt"
    click.echo("[2/3] evaluating on 600 held-out test images")
    result = evaluate_classifier(checkpoint, split="test", count=600, device=device, out=root / "run")
    click.echo("[3/3] explaining held-out images with SE heatmaps")
    summary = explain_classifier(checkpoint, root / "explain", count=600, grid_count=16, device=device)
    click.echo(json.dumps({
        "test_accuracy": round(result["accuracy"], 4),
        "pointing_game": round(summary.get("pointing_game", float("nan")), 4),
        "kept_channel_fraction": round(summary["kept_channel_fraction_mean"], 4),
    }, indent=2))
    click.echo(f"Outputs: {root / 'run'} (checkpoint, log.csv, config.yaml), "
               f"{root / 'explain' / 'se_heatmaps_test.png'} (heatmaps), {root / 'explain' / 'explain_test.json'}")
