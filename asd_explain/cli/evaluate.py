"""``asd-explain evaluate``: AVA-format predictions, official AP and per-category AP of a checkpoint
or of a published model (``--pretrained light-asd|lr-asd``, weights as ``asd-explain weights`` finds them)."""
from __future__ import annotations

import click


@click.command("evaluate")
@click.option("--checkpoint", default=None, type=click.Path(dir_okay=False), help="A training checkpoint (.pt).")
@click.option("--pretrained", default=None, help="A published model instead: light-asd or lr-asd.")
@click.option("--weights", default=None, type=click.Path(dir_okay=False),
              help="With --pretrained: this weights file (default: $ASD_EXPLAIN_WEIGHTS, then the cache).")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store, or a folder with one store per split.")
@click.option("--split", default="val", show_default=True, help="Split to evaluate (store subfolder).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--categories", type=click.Path(dir_okay=False), default=None,
              help="Category file for per-category AP (WASD dataset_division.txt / wasd_metadata.csv / "
                   "video_id,category CSV); default: categories recorded in the store.")
@click.option("--gt", "gt_files", multiple=True, type=click.Path(exists=True),
              help="Official ground-truth CSV(s) or folder(s) of per-video CSVs (repeatable): predictions then "
                   "cover every row of them; rows the store lacks (skipped videos/rows) get --fill-score. "
                   "Default: the store's own labels.")
@click.option("--fill-score", default=0.0, show_default=True,
              help="Score of ground-truth rows the store lacks (0 = certainly not speaking: a missing row "
                   "can only lower AP, never raise it). Counted in metrics.json and printed.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--chunk-frames", default=256, show_default=True, help="Longest piece of a track scored at once.")
@click.option("--batch-frames", default=1024, show_default=True, help="Frames per batch.")
@click.option("--workers", default=0, show_default=True, help="DataLoader worker processes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(checkpoint: str | None, pretrained: str | None, weights: str | None, data: str, split: str,
            out_dir: str, categories: str | None, gt_files: tuple[str, ...], fill_score: float, device: str,
            chunk_frames: int, batch_frames: int, workers: int, quiet: bool) -> None:
    """Score every labelled frame of a store and report the official AVA average precision."""
    from ..data.store import StoreError
    from ..metrics.ava_scoring import ScoringError
    from ..train.checkpoint import CheckpointError
    from ..train.evaluate import evaluate_checkpoint
    from ..train.evaluate_pretrained import evaluate_pretrained

    if (checkpoint is None) == (pretrained is None):
        raise click.UsageError("give exactly one of --checkpoint FILE and --pretrained NAME")
    if weights is not None and pretrained is None:
        raise click.UsageError("--weights goes with --pretrained")
    common = dict(split=split, categories_file=categories, device=device, chunk_frames=chunk_frames,
                  batch_frames=batch_frames, num_workers=workers, progress=not quiet, ground_truth_files=gt_files,
                  fill_score=fill_score)
    try:
        if pretrained is not None:
            result = evaluate_pretrained(pretrained, data, out_dir, weights=weights, **common)
        else:
            result = evaluate_checkpoint(checkpoint, data, out_dir, **common)
    except (CheckpointError, StoreError, ScoringError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    m = result.metrics
    click.echo(f"average precision: {m['map_percent']:.2f}% ({m['rows']} rows, {m['positives']} SPEAKING_AUDIBLE)")
    for name, cat in m["per_category"].items():
        ap = "n/a" if cat["map_percent"] is None else f"{cat['map_percent']:.2f}%"
        click.echo(f"  {name}: {ap} ({cat['rows']} rows)")
    filled = m["filled_rows"]
    click.echo(f"filled {filled} ground-truth rows the store lacks with score {m['fill_score']}"
               + (f" (videos: {', '.join(sorted(m['filled_videos']))})" if filled else ""))
    if m["dropped_prediction_rows"]:
        click.echo(f"{m['dropped_prediction_rows']} store rows are not in the ground truth (not scored)")
    click.echo(f"wrote {result.predictions_csv}, {result.ground_truth_csv}, {result.metrics_json}")
