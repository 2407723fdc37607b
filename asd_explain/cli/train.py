"""``asd-explain train``: train the face + body + audio ASD model from a YAML config.

Single process: ``asd-explain train --config configs/train_synth.yaml``.
Several processes (DDP; gloo on CPU, nccl on GPU):
``torchrun --nproc_per_node 2 -m asd_explain.cli.main train --config configs/train_synth.yaml``.
Re-running the same command resumes from ``<run_dir>/checkpoints/last.pt``.
Fine-tuning a published model:
``asd-explain train --init light-asd --config configs/finetune_pretrained.yaml --store STORE``.
"""
from __future__ import annotations

import os

import click


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Training YAML (sections model, data, optim; see configs/train_*.yaml).")
@click.option("--model-config", type=click.Path(dir_okay=False), default=None,
              help="ModelConfig YAML replacing the config's model section (configs/model_*.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set optim.epochs=3 --set model.se=false (repeatable).")
@click.option("--run-dir", default=None, help="Output folder (overrides run_dir).")
@click.option("--store", default=None, help="Track store root (overrides data.store).")
@click.option("--init", "init", default=None,
              help="Fine-tune a published AVA-trained model (light-asd, lr-asd) from its weights instead of "
                   "training config.model from scratch; the store needs grey 112x112 face crops.")
@click.option("--init-weights", default=None, type=click.Path(dir_okay=False),
              help="With --init: its weights file (default: $ASD_EXPLAIN_WEIGHTS, then the download cache).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from <run_dir>/checkpoints/last.pt when it exists.")
def command(config_path: str, model_config: str | None, overrides: tuple[str, ...], run_dir: str | None,
            store: str | None, init: str | None, init_weights: str | None, resume: bool) -> None:
    """Train an ASD model; writes config.yaml, CSV logs and checkpoints into the run folder."""
    from ..config import ConfigError
    from ..data.store import StoreError
    from ..models.weights_file import WeightsError
    from ..train.checkpoint import CheckpointError
    from ..train.recipe import load_train_config, parse_overrides, train_on_store

    try:
        values = parse_overrides(overrides)
        if run_dir:
            values["run_dir"] = run_dir
        if store:
            values["data.store"] = store
        if init:
            values["init"] = init
        if init_weights:
            values["init_weights"] = init_weights
        config = load_train_config(config_path, model_config=model_config, overrides=values)
        result = train_on_store(config, resume=resume)
    except (ConfigError, CheckpointError, StoreError, WeightsError) as err:
        raise click.ClickException(str(err)) from None
    p = result.progress
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"trained {p.step} steps ({p.epoch} epochs, {p.elapsed_s:.0f} s); last val AP "
                   f"{p.last_val_ap:.4f}, best {p.best_val_ap:.4f}; checkpoint {result.last_checkpoint}")
