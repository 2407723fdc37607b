"""``asd-prep wasd``: WASD videos + face CSV + body CSV -> track store."""
from __future__ import annotations

import click

from ._options import common_options, run_prepare


@click.command("wasd")
@common_options
@click.option("--body-annotations", type=click.Path(exists=True),
              help="Body CSV, or folder with <split>_orig_body.csv / <split>_body_orig.csv (default: the --annotations "
                   "folder).")
@click.option("--body", "body_source", type=click.Choice(["csv", "derived", "none"]), default="csv",
              show_default=True, help="Body boxes from WASD's body CSV, derived from the face, or none.")
def command(body_annotations, body_source, **options) -> None:
    """Prepare WASD (categories from --metadata); each video decoded once; resumable."""
    if body_source == "csv" and body_annotations is None:
        body_annotations = options["annotations"]
    run_prepare("wasd", body_source, options, body_annotations=body_annotations)
