"""``asd-prep import-clips``: the reference preparation's clip folders + CSVs -> track store."""
from __future__ import annotations

import click

from ..categories import Categories
from ..clips import import_clips
from ..prepare import parse_shard
from ..settings import PrepSettings, parse_size


@click.command("import-clips")
@click.option("--clips", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder holding clips_videos/<split>/, clips_audios/<split>/ (and clips_videos_body/<split>/).")
@click.option("--annotations", required=True, type=click.Path(exists=True),
              help="Annotation CSV or folder, as for asd-prep ava / wasd.")
@click.option("--split", default=None, help="train or val: the clip subfolder and <split>_orig.csv.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Track store folder.")
@click.option("--dataset", type=click.Choice(["ava", "wasd"]), default="ava", show_default=True)
@click.option("--body", "body_source", type=click.Choice(["csv", "none"]), default=None,
              help="Body crops from clips_videos_body/ with the body CSV (default for wasd) or none (default "
                   "for ava).")
@click.option("--body-annotations", type=click.Path(exists=True),
              help="Body CSV or folder (default: the --annotations folder).")
@click.option("--fps", type=float, default=None,
              help="Frame rate of the videos (default: 1 / median step between a video's timestamps).")
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False), help="Categories, as for asd-prep wasd.")
@click.option("--face-size", default="112", show_default=True)
@click.option("--face-colour", type=click.Choice(["gray", "rgb"]), default="gray", show_default=True)
@click.option("--body-size", default="112", show_default=True)
@click.option("--body-colour", type=click.Choice(["gray", "rgb"]), default="gray", show_default=True)
@click.option("--image-codec", type=click.Choice(["zstd", "png", "jpeg", "raw"]), default="zstd", show_default=True)
@click.option("--jpeg-quality", type=int, default=95, show_default=True)
@click.option("--shard", default="0/1", show_default=True, help="Only shard i of N (by video).")
@click.option("--fsync", is_flag=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(clips, annotations, split, out, dataset, body_source, body_annotations, fps, metadata, face_size,
            face_colour, body_size, body_colour, image_codec, jpeg_quality, shard, fsync, quiet) -> None:
    """Build a track store from TalkNet / Light-ASD / WASD clip folders (face and body JPEGs + wav); resumable."""
    body_source = body_source or ("csv" if dataset == "wasd" else "none")
    if body_source == "csv" and body_annotations is None:
        body_annotations = annotations
    try:
        settings = PrepSettings(face_size=parse_size(face_size), face_colour=face_colour,
                                body_size=parse_size(body_size), body_colour=body_colour, body_source=body_source,
                                image_codec=image_codec, jpeg_quality=jpeg_quality)
        report = import_clips(dataset, clips, annotations, out, split=split, settings=settings,
                              body_annotations=body_annotations if body_source == "csv" else None,
                              categories=Categories.load(metadata), fps=fps, shard=parse_shard(shard),
                              fsync=fsync, progress=not quiet)
    except (ValueError, FileNotFoundError, OSError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(report.text())
