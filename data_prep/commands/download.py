"""``asd-prep download ava``: resumable download of the public AVA video list."""
from __future__ import annotations

import click

from ..download import AVA_BASE_URL, download_list, read_video_list


@click.group("download")
def command() -> None:
    """Download dataset videos (resumable, size-checked)."""


@command.command("ava")
@click.option("--list", "list_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Video list: one file name (e.g. ava_file_names_trainval_v2.1.txt) or URL per line.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the videos.")
@click.option("--base-url", default=AVA_BASE_URL, show_default=True, help="Prefix for plain file names.")
@click.option("--workers", type=int, default=4, show_default=True, help="Parallel downloads.")
@click.option("--retries", type=int, default=3, show_default=True, help="Retries per file (each resumes).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per network read.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ava_cmd(list_path, out, base_url, workers, retries, timeout, quiet) -> None:
    """Download (or finish downloading) every video of --list into --out."""
    try:
        items = read_video_list(list_path, base_url)
    except (ValueError, OSError) as err:
        raise click.ClickException(str(err)) from None
    results = download_list(items, out, workers=workers, retries=retries, timeout=timeout, progress=not quiet)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status == "failed":
            click.echo(f"{list_path}: {result.name}: {result.error}", err=True)
    click.echo(", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "nothing to do")
    if counts.get("failed"):
        raise SystemExit(1)
