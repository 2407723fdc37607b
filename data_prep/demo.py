"""``asd-explain demo``: the embedded default job, offline, end to end.

The command lives here because it needs the synthetic-corpus generator and the store preparation; data_prep
adds it to the ``asd-explain`` CLI through the ``asd_explain.commands`` entry-point group (setup.cfg), so
the library never imports data_prep.

Audio-visual (default): generate a small synthetic speaking corpus (train and val from different seeds),
prepare both into a track store, train the face + body + audio model briefly, score the val store with
the official AP, and explain one held-out video (MP4, CSV, JSON, PNG). ``--kind image`` runs the image
recipe instead (resnet18 + SE on the generated `shapes` data).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

DEMO_CONFIG = "train_synth.yaml"  # shipped with the package (asd_explain.resources)


@click.command("demo")
@click.option("--kind", type=click.Choice(["av", "image"]), default="av", show_default=True)
@click.option("--out", default="demo_output", show_default=True, type=click.Path(file_okay=False))
@click.option("--minutes", default=4.0, show_default=True, help="Training time budget (AV demo).")
@click.option("--device", default="auto", show_default=True)
def command(kind: str, out: str, minutes: float, device: str) -> None:
    """Run the embedded default job and say where its outputs are."""
    root = Path(out)
    if kind == "image":
        _image_demo(root, device)
    else:
        _av_demo(root, minutes, device)


def _av_demo(root: Path, minutes: float, device: str) -> None:
    from asd_explain.pipeline.explain_video import ExplainVideoOptions, explain_video
    from asd_explain.resources import shipped_config
    from asd_explain.train.evaluate import evaluate_checkpoint
    from asd_explain.train.recipe import load_train_config, train_on_store

    from .categories import Categories
    from .prepare import prepare_store
    from .settings import PrepSettings
    from .synth import generate_corpus

    click.echo("[1/5] generating the synthetic corpus (train: seed 1, val: seed 2)")
    corpora = {}
    for split, seed, videos in (("train", 1, 10), ("val", 2, 3)):
        corpora[split] = generate_corpus(root / f"corpus_{split}", videos=videos, seconds=8, seed=seed,
                                         size=(320, 180), split=split, progress=False)
    click.echo("[2/5] preparing both into a track store (WASD format: face + body CSVs)")
    for split, corpus in corpora.items():
        report = prepare_store("wasd", corpus / "videos", corpus / "annotations", root / "store" / split,
                               split=split, settings=PrepSettings(body_source="csv"),
                               body_annotations=corpus / "annotations",
                               categories=Categories.load(str(corpus / "metadata.csv")), progress=False)
        click.echo(f"      {split}: {report.rows_stored} of {report.rows_in} annotated rows stored")
    click.echo(f"[3/5] training face + body + audio with SE for at most {minutes:g} minutes")
    config_path = shipped_config(DEMO_CONFIG)
    # Minutes, not the recipe's 15: modality dropout, its blank-share loss and the gate loss slow the first
    # few dozen steps (2 min: val AP 0.72 with all three, 0.78 with gate_l1 alone), so the demo trains without.
    overrides = {"data.store": str(root / "store"), "run_dir": str(root / "run"), "device": device,
                 "optim.max_time_s": minutes * 60, "progress": True,
                 "data.modality_dropout": 0.0, "blank_gate_weight": 0.0, "gate_l1": 0.0}
    config = load_train_config(config_path, overrides=overrides)
    result = train_on_store(config)
    checkpoint = result.best_checkpoint or result.last_checkpoint
    click.echo("[4/5] scoring the val store with the official AVA AP")
    metrics = evaluate_checkpoint(checkpoint, root / "store", root / "eval", split="val", device=device).metrics
    click.echo("[5/5] explaining a held-out video")
    video = sorted((corpora["val"] / "videos").glob("*.mp4"))[0]
    summary = explain_video(video, checkpoint, root / "explain",
                            ExplainVideoOptions(boxes_csv=str(corpora["val"] / "annotations"), device=device))
    click.echo(json.dumps({"val_ap": metrics.get("ap"), "explained_video": summary["outputs"].get("video"),
                           "tracks": [(t["entity_id"], t["modality_shares"]) for t in summary["tracks"]]},
                          indent=2, default=str))
    click.echo(f"Outputs: {root / 'run'} (checkpoints, logs), {root / 'eval'} (predictions.csv, metrics.json), "
               f"{root / 'explain'} (explained MP4, scores.csv, summary.json, summary.png, tracks/)")


def _image_demo(root: Path, device: str) -> None:
    from asd_explain.config import config_from_dict
    from asd_explain.image.explain import explain_classifier
    from asd_explain.image.recipe import ImageRunConfig, evaluate_classifier, train_classifier

    cfg = config_from_dict(ImageRunConfig, {
        "data": {"dataset": "shapes", "train_count": 3000, "val_count": 300},
        "model": {"arch": "resnet18", "se": True}, "train": {"epochs": 3, "device": device},
    })
    click.echo(f"[1/3] training resnet18 + SE on shapes -> {root / 'run'}")
    train_classifier(cfg, root / "run")
    checkpoint = root / "run" / "checkpoint.pt"
    click.echo("[2/3] evaluating on 600 held-out test images")
    result = evaluate_classifier(checkpoint, split="test", count=600, device=device, out=root / "run")
    click.echo("[3/3] explaining held-out images with SE heatmaps")
    summary = explain_classifier(checkpoint, root / "explain", count=600, grid_count=16, device=device)
    click.echo(json.dumps({"test_accuracy": round(result["accuracy"], 4),
                           "pointing_game": round(summary.get("pointing_game", float("nan")), 4)}, indent=2))
    click.echo(f"Outputs: {root / 'run'}, {root / 'explain' / 'se_heatmaps_test.png'}")
