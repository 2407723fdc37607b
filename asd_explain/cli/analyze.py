"""``asd-explain analyze``: the two notebooks' tables, figures and JSON without Jupyter."""
from __future__ import annotations

import click


@click.command("analyze")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Audio-visual checkpoint (asd-explain train).")
@click.option("--data", type=click.Path(file_okay=False), default=None,
              help="Track store, or a folder with one store per split.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--split", default=None, help="Split (store subfolder; default val).")
@click.option("--corpus", type=click.Path(file_okay=False), default=None,
              help="Synthetic corpus the store was made from (its evidence gives mouth / gesture pointing).")
@click.option("--image-checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Image classifier with an SE block (asd-explain image train), e.g. resnet18 on shapes.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="YAML with AnalysisConfig keys; options given here override it.")
@click.option("--parts", default="attention,se_stats,ablation", show_default=True,
              help="Comma-separated parts: attention, se_stats, ablation.")
@click.option("--small", is_flag=True, help="Tiny sample sizes (as the tests run the notebooks).")
@click.option("--seed", type=int, default=None, help="Seed of sampling and bootstrap (default 0).")
@click.option("--max-tracks", type=int, default=None, help="Tracks analysed (0 = all).")
@click.option("--threads", type=int, default=None, help="Torch threads (same count, same numbers; default 2).")
@click.option("--device", default=None, help="cpu, cuda, auto (default cpu).")
@click.option("--no-resume", is_flag=True, help="Recompute parts already written with the same settings.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(checkpoint: str | None, data: str | None, out_dir: str, split: str | None, corpus: str | None,
            image_checkpoint: str | None, config_file: str | None, parts: str, small: bool, seed: int | None,
            max_tracks: int | None, threads: int | None, device: str | None, no_resume: bool, quiet: bool) -> None:
    """Per-category attention (AP, modality shares, face vs body energy), SE statistics and ablations.

    Writes tables (CSV, markdown), figures (PNG) and JSON per part into --out; a part already written
    there with the same settings is kept (run the same command again to finish a stopped run).
    """
    import json

    from ..analysis import AnalysisConfig, configure, run_analysis
    from ..config import ConfigError, load_config
    from ..data.store import StoreError
    from ..train.checkpoint import CheckpointError

    try:
        base = load_config(config_file, AnalysisConfig) if config_file else None
        cfg = configure(base, small_sizes=small, checkpoint=checkpoint, data=data, split=split, corpus=corpus,
                        image_checkpoint=image_checkpoint, seed=seed, max_tracks=max_tracks, threads=threads,
                        device=device)
        written = run_analysis(cfg, out_dir, parts=tuple(p.strip() for p in parts.split(",") if p.strip()),
                               resume=not no_resume, progress=not quiet)
    except (ConfigError, CheckpointError, StoreError, FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err).splitlines()[0]) from None
    for name, path in written.items():
        payload = json.loads(path.read_text())
        click.echo(f"[{name}] -> {path}")
        for line in payload.get("answers") or payload.get("conclusions") or []:
            click.echo(f"  - {line}")
