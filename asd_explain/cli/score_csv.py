"""``asd-explain score-csv``: the official AVA active speaker metric (drop-in for the AVA scorer)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import atomic_write_text
from ..metrics.ava_csv import score_filled
from ..metrics.ava_scoring import ScoringError, score_csv
from ..metrics.categories import read_categories


@click.command("score-csv")
@click.option("--gt", "gt_path", required=True, type=click.Path(dir_okay=False),
              help="Ground-truth CSV (AVA format, header or not).")
@click.option("--pred", "pred_path", required=True, type=click.Path(dir_okay=False),
              help="Prediction CSV: AVA columns + score, label SPEAKING_AUDIBLE on every row.")
@click.option("--categories", "categories_path", type=click.Path(dir_okay=False), default=None,
              help="Per-category AP: WASD dataset_division.txt, wasd_metadata.csv or 'video_id,category' CSV.")
@click.option("--fill-missing", "fill_missing", type=float, default=None,
              help="Score ground-truth rows PRED lacks with this score (and drop PRED rows not in GT) instead "
                   "of refusing the file; the counts are printed.")
@click.option("--write-filled", "filled_path", type=click.Path(dir_okay=False), default=None,
              help="With --fill-missing: write the completed predictions here (official layout, no header).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the result as JSON here.")
def command(gt_path: str, pred_path: str, categories_path: str | None, fill_missing: float | None,
            filled_path: str | None, json_path: str | None) -> None:
    """Score PRED against GT with the official AVA-ActiveSpeaker average precision."""
    if filled_path and fill_missing is None:
        raise click.UsageError("--write-filled needs --fill-missing")
    completed = None
    try:
        categories = read_categories(categories_path) if categories_path else None
        if fill_missing is None:
            result = score_csv(gt_path, pred_path, categories)
        else:
            result, completed = score_filled(gt_path, pred_path, fill_missing, categories, filled_path)
    except (ScoringError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if completed is not None:
        click.echo(completed.summary_line())
    click.echo(f"average precision: {100 * result.ap:.2f}% (AP {result.ap:.9f}; {result.rows} rows, "
               f"{result.positives} SPEAKING_AUDIBLE)")
    for name, cat in result.per_category.items():
        click.echo(f"  {name}: {100 * cat.ap:.2f}% ({cat.rows} rows, {cat.positives} positives)")
    if json_path:
        payload = result.to_dict() | (completed.report() if completed is not None else {})
        atomic_write_text(Path(json_path), json.dumps(payload, indent=2) + "\n")
