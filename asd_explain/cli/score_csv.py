"""``asd-explain score-csv``: the official AVA active speaker metric (drop-in for the AVA scorer)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import atomic_write_text
from ..metrics.ava_scoring import ScoringError, score_csv
from ..metrics.categories import read_categories


@click.command("score-csv")
@click.option("--gt", "gt_path", required=True, type=click.Path(dir_okay=False),
              help="Ground-truth CSV (AVA format, header or not).")
@click.option("--pred", "pred_path", required=True, type=click.Path(dir_okay=False),
              help="Prediction CSV: AVA columns + score, label SPEAKING_AUDIBLE on every row.")
@click.option("--categories", "categories_path", type=click.Path(dir_okay=False), default=None,
              help="Per-category AP: WASD dataset_division.txt, wasd_metadata.csv or 'video_id,category' CSV.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the result as JSON here.")
def command(gt_path: str, pred_path: str, categories_path: str | None, json_path: str | None) -> None:
    """Score PRED against GT with the official AVA-ActiveSpeaker average precision."""
    try:
        categories = read_categories(categories_path) if categories_path else None
        result = score_csv(gt_path, pred_path, categories)
    except (ScoringError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"average precision: {100 * result.ap:.2f}% (AP {result.ap:.9f}; {result.rows} rows, "
               f"{result.positives} SPEAKING_AUDIBLE)")
    for name, cat in result.per_category.items():
        click.echo(f"  {name}: {100 * cat.ap:.2f}% ({cat.rows} rows, {cat.positives} positives)")
    if json_path:
        atomic_write_text(Path(json_path), json.dumps(result.to_dict(), indent=2) + "\n")
