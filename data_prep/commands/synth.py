"""``asd-prep synth``: write the synthetic AVA/WASD-format corpus (see docs/synth.md)."""
from __future__ import annotations

import click

from data_prep.synth import CATEGORIES, PRESETS
from data_prep.synth.config import parse_categories, parse_fps, parse_size
from data_prep.synth.corpus import CorpusError, generate_corpus


def _size(ctx, param, value):
    try:
        return None if value is None else parse_size(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _categories(ctx, param, value):
    try:
        return None if value is None else parse_categories(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _fps(ctx, param, value):
    try:
        return None if value is None else tuple(parse_fps(v) for v in value.split(","))
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


@click.command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Corpus folder.")
@click.option("--videos", type=click.IntRange(min=1), default=None, help="Number of videos [12].")
@click.option("--seconds", type=click.FloatRange(1.0, 600.0), default=None, help="Length of each video [10].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Corpus seed.")
@click.option("--size", callback=_size, default=None, help="Frame size WxH [640x360].")
@click.option("--categories", callback=_categories, default=None,
              help=f"Comma-separated subset of {','.join(CATEGORIES)}, cycled over videos [all].")
@click.option("--fps", "fps_choices", callback=_fps, default=None,
              help="Comma-separated frame rates, cycled over videos [29.97,25,24,30].")
@click.option("--split", default="train", show_default=True, help="Name of the merged CSVs (<split>_orig.csv).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
              help="tiny: 3 videos x 2 s at 320x180 (tests); demo: 12 x 10 s at 640x360.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes [usable CPUs].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(out_dir, videos, seconds, seed, size, categories, fps_choices, split, preset, workers, quiet) -> None:
    """Make a synthetic speaking corpus: MP4 (H.264 + AAC), AVA CSVs, body boxes, evidence."""
    kwargs = {} if fps_choices is None else {"fps_choices": fps_choices}
    try:
        path = generate_corpus(out_dir, videos=videos, seconds=seconds, seed=seed, size=size,
                               categories=categories, split=split, preset=preset, workers=workers,
                               progress=not quiet, **kwargs)
    except (CorpusError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"synthetic corpus written to {path}")
