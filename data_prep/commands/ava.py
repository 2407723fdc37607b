"""``asd-prep ava``: AVA-ActiveSpeaker videos + annotation CSVs -> track store."""
from __future__ import annotations

import click

from asd_explain.media.crops import BodyFromFace

from ._options import common_options, run_prepare


@click.command("ava")
@common_options
@click.option("--body", "body_source", type=click.Choice(["derived", "none"]), default="derived",
              show_default=True, help="Body crops from a box derived from the face box, or none.")
@click.option("--body-width-faces", type=float, default=BodyFromFace.width_faces, show_default=True)
@click.option("--body-height-faces", type=float, default=BodyFromFace.height_faces, show_default=True)
@click.option("--body-above-faces", type=float, default=BodyFromFace.above_faces, show_default=True)
@click.option("--time-offset", "time_offset_s", type=float, default=0.0, show_default=True,
              help="Annotation time (s) of the videos' first frame: 900 for videos cut to AVA's annotated "
                   "15-minute segment (900-1800 s of the movie). The store keeps the annotation's timestamps.")
def command(body_source, body_width_faces, body_height_faces, body_above_faces, time_offset_s, **options) -> None:
    """Prepare AVA-ActiveSpeaker: each video decoded once, one record per entity track; resumable."""
    rule = BodyFromFace(body_width_faces, body_height_faces, body_above_faces)
    run_prepare("ava", body_source, options, body_rule=rule, time_offset_s=time_offset_s)
