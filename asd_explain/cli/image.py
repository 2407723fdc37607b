"""``asd-explain image train|evaluate|explain``: the SE recipe for any CNN image classifier."""
from __future__ import annotations

import json

import click

from ..config import ConfigError, config_from_dict, config_to_dict, load_config
from ..constants import DEFAULT_Z
from ..image.datasets import DATASETS
from ..image.models import ARCHS


@click.group("image")
def command() -> None:
    """Image classifiers (shapes, CIFAR-10/100, CelebA, a folder) with an SE explainer."""


@command.command("train")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config (ImageRunConfig).")
@click.option("--dataset", type=click.Choice(DATASETS), help="Dataset name (default: shapes).")
@click.option("--root", help="Folder of cifar10/cifar100/celeba/folder data.")
@click.option("--download", is_flag=True, default=None, help="Download CIFAR/CelebA into --root if missing.")
@click.option("--attribute", help="CelebA attribute to classify (default: Smiling).")
@click.option("--image-size", type=int, help="Input size in pixels (default: 128).")
@click.option("--train-count", type=int, help="Use only this many training images.")
@click.option("--arch", type=click.Choice(ARCHS), help="torchvision architecture (default: resnet18).")
@click.option("--se/--no-se", default=None, help="With (default) or without the SE block.")
@click.option("--output-stride", type=click.Choice(["16", "32"]),
              help="ResNets: 16 (default) sets layer4's stride to 1 (8x8 map at 128 px); 32 is torchvision's.")
@click.option("--epochs", type=int)
@click.option("--batch-size", type=int)
@click.option("--lr", type=float)
@click.option("--seed", type=int)
@click.option("--gate-l1", type=float, help="Weight of the loss gate_l1 * mean(SE gate) (default: 1 with SE, 0 = off).")
@click.option("--device", help="auto (default), cpu, cuda, cuda:1, ...")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder (resumes if present).")
def train_cmd(config_path, out, **options) -> None:
    """Train a classifier; writes config.yaml, checkpoint.pt, log.csv, metrics.json into --out."""
    from ..image.recipe import ImageRunConfig, train_classifier

    overrides = {
        "data.dataset": options["dataset"], "data.root": options["root"], "data.download": options["download"],
        "data.attribute": options["attribute"], "data.image_size": options["image_size"],
        "data.train_count": options["train_count"], "model.arch": options["arch"], "model.se": options["se"],
        "model.output_stride": int(options["output_stride"]) if options["output_stride"] else None,
        "train.epochs": options["epochs"], "train.batch_size": options["batch_size"], "train.lr": options["lr"],
        "train.seed": options["seed"], "train.device": options["device"], "train.gate_l1": options["gate_l1"],
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    try:
        if config_path:
            cfg = load_config(config_path, ImageRunConfig, overrides)
        else:
            data = config_to_dict(ImageRunConfig())
            for dotted, value in overrides.items():
                section, key = dotted.split(".")
                data[section][key] = value
            cfg = config_from_dict(ImageRunConfig, data)
        metrics = train_classifier(cfg, out)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps({"out": out, **metrics}, indent=2))


@command.command("evaluate")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--count", type=int, help="Evaluate only the first COUNT images.")
@click.option("--root", help="Where the dataset lives, if not where it was trained.")
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Folder for eval_<split>.json.")
def evaluate_cmd(checkpoint, split, count, root, device, out) -> None:
    """Top-1 accuracy of a trained classifier, overall and per class."""
    from ..image.recipe import evaluate_classifier

    try:
        result = evaluate_classifier(checkpoint, split=split, count=count, root=root, device=device, out=out)
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(result, indent=2))


@command.command("explain")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--count", type=int, help="Explain only the first COUNT images (default: the whole split).")
@click.option("--grid", "grid_count", type=int, default=16, show_default=True, help="Images in the PNG grid.")
@click.option("--root", help="Where the dataset lives, if not where it was trained.")
@click.option("--z", type=float, default=DEFAULT_Z, show_default=True, help="Threshold mean + z*std on s.")
@click.option("--top-percent", type=float, help="Keep exactly this top percentage of channels instead.")
@click.option("--interpolation", type=click.Choice(["bicubic", "bilinear", "nearest"]), default="bicubic",
              show_default=True)
@click.option("--device", default="auto", show_default=True)
def explain_cmd(checkpoint, out, **options) -> None:
    """SE heatmaps: PNG grid, kept-channel statistics, pointing game where masks exist."""
    from ..image.explain import explain_classifier

    try:
        summary = explain_classifier(checkpoint, out, **options)
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(summary, indent=2))
