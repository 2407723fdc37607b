"""Options shared by ``asd-prep ava`` and ``asd-prep wasd`` (module name starts with _: not a command)."""
from __future__ import annotations

import click

from asd_explain.media.crops import BodyFromFace

from ..categories import Categories
from ..prepare import parse_shard, prepare_store
from ..settings import PrepSettings, parse_size


def common_options(func):
    """Options every dataset command takes (applied bottom-up, so listed here in reverse order)."""
    options = [
        click.option("--fsync", is_flag=True, help="fsync every track file (durable against power loss)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        click.option("--decode-threads", type=int, default=None,
                     help="decord threads per video (default: auto with 1 worker, else 1)."),
        click.option("--shard", default="0/1", show_default=True,
                     help="Prepare only shard i of N (0-based, split by video), e.g. for a SLURM array."),
        click.option("--workers", type=int, default=1, show_default=True, help="Videos prepared in parallel."),
        click.option("--jpeg-quality", type=int, default=95, show_default=True),
        click.option("--resize", type=click.Choice(["linear", "area"]), default="linear", show_default=True,
                     help="Crop resizing: bilinear as the field does, or area averaging (anti-aliased, slower)."),
        click.option("--decoder", type=click.Choice(["pyav", "decord"]), default="pyav", show_default=True,
                     help="Video decoder (both decode each video once)."),
        click.option("--image-codec", type=click.Choice(["zstd", "png", "jpeg", "raw"]), default="zstd",
                     show_default=True, help="How crops are stored (all but jpeg are lossless)."),
        click.option("--body-colour", type=click.Choice(["gray", "rgb"]), default="gray", show_default=True),
        click.option("--body-size", default="112", show_default=True, help="Body crop size: N or HxW."),
        click.option("--face-colour", type=click.Choice(["gray", "rgb"]), default="gray", show_default=True),
        click.option("--face-crop", type=click.Choice(["box", "authors"]), default="box", show_default=True,
                     help="Face window: the box (default) or as the published AVA models' authors cut it "
                          "(grey 112 px; for Light-ASD / LR-ASD)."),
        click.option("--face-size", default="112", show_default=True, help="Face crop size: N or HxW."),
        click.option("--metadata", type=click.Path(exists=True, dir_okay=False),
                     help="Categories: CSV with video_id/Video and category/Category columns, or WASD's "
                          "dataset_division.txt."),
        click.option("--split", default=None, help="train or val: picks <split>_orig.csv in a folder and is "
                                                   "recorded in the manifest."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Track store folder."),
        click.option("--annotations", required=True, type=click.Path(exists=True),
                     help="Annotation CSV or folder (per-video *-activespeaker.csv or <split>_orig.csv)."),
        click.option("--videos", required=True, type=click.Path(exists=True, file_okay=False),
                     help="Folder of <video_id>.mp4/.mkv/.webm."),
    ]
    for option in options:
        func = option(func)
    return func


def run_prepare(dataset: str, body_source: str, options: dict, body_annotations=None,
                body_rule: BodyFromFace | None = None, time_offset_s: float = 0.0) -> None:
    """Build settings from the options, prepare, print the report; errors become one-line click errors."""
    try:
        settings = PrepSettings(
            face_size=parse_size(options["face_size"]), face_colour=options["face_colour"],
            body_size=parse_size(options["body_size"]), body_colour=options["body_colour"],
            body_source=body_source, body_from_face=body_rule or BodyFromFace(),
            image_codec=options["image_codec"], jpeg_quality=options["jpeg_quality"],
            decoder=options["decoder"], resize=options["resize"], time_offset_s=time_offset_s,
            face_crop=options["face_crop"],
        )
        report = prepare_store(
            dataset, options["videos"], options["annotations"], options["out"], split=options["split"],
            settings=settings, body_annotations=body_annotations,
            categories=Categories.load(options["metadata"]), workers=options["workers"],
            shard=parse_shard(options["shard"]), decode_threads=options["decode_threads"],
            fsync=options["fsync"], progress=not options["quiet"],
        )
    except (ValueError, FileNotFoundError, OSError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(report.text())
