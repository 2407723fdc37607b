"""``asd-explain weights list | download NAME | verify [NAME|FILE]...``: the published AVA weights."""
from __future__ import annotations

from pathlib import Path

import click

CACHE_HELP = "Cache folder (default: torch.hub's, $TORCH_HOME/hub/checkpoints or ~/.cache/torch/hub/checkpoints)."


@click.group("weights")
def command() -> None:
    """Published AVA-trained weights (Light-ASD, LR-ASD): list, download (sha256-checked), verify."""


@command.command("list")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=CACHE_HELP)
def list_command(cache_dir: str | None) -> None:
    """Each published model: file, size, reported AVA mAP, licence, where it is found, source URL."""
    from ..models.pretrained import PUBLISHED, WeightsError, resolve_weights

    for entry in PUBLISHED.values():
        try:
            where = str(resolve_weights(entry.name, cache_dir=cache_dir))
        except WeightsError:
            where = f"not downloaded (asd-explain weights download {entry.name})"
        click.echo(f"{entry.name}: {entry.file_name}, {entry.size_bytes:,} B, AVA val mAP "
                   f"{entry.reported_map_percent:.2f}% (reported), {entry.license}\n"
                   f"  {entry.paper}\n  source: {entry.url}\n  sha256: {entry.sha256}\n  found: {where}")


@command.command("download")
@click.argument("name")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=CACHE_HELP)
@click.option("--url", default=None, help="Download from this URL instead (a mirror); the sha256 is still checked.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def download_command(name: str, cache_dir: str | None, url: str | None, quiet: bool) -> None:
    """Download NAME's published file (resumable), check its sha256, keep it in the cache."""
    from ..models.weights_download import download_weights
    from ..models.weights_file import WeightsError

    try:
        path = download_weights(name, cache_dir, url=url, progress=not quiet)
    except WeightsError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{name}: {path} (sha256 ok)")


@command.command("verify")
@click.argument("targets", nargs=-1)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=CACHE_HELP)
def verify_command(targets: tuple[str, ...], cache_dir: str | None) -> None:
    """Check sha256 and load each NAME (as found) or FILE exactly into its architecture (default: all names)."""
    from ..models.pretrained import PUBLISHED
    from ..models.weights_file import WeightsError

    failed = 0
    for target in targets or tuple(PUBLISHED):
        try:
            click.echo(verify_one(target, cache_dir))
        except WeightsError as err:
            click.echo(f"error: {err}", err=True)
            failed += 1
    if failed:
        raise click.ClickException(f"{failed} of {len(targets or PUBLISHED)} weights files failed verification")


def verify_one(target: str, cache_dir: str | None) -> str:
    """One line about a registry name or a file: which model, sha256 and strict load OK (else WeightsError)."""
    from ..models.pretrained import PUBLISHED, load_pretrained, resolve_weights
    from ..models.weights_file import WeightsError, fitting_architectures, read_state_dict, sha256_of

    if target in PUBLISHED:
        path = resolve_weights(target, cache_dir=cache_dir)
        load_pretrained(target, path)
        return f"{target}: {path}: sha256 ok, all {len(read_state_dict(path))} tensors load exactly"
    path = Path(target)
    if not path.is_file():
        raise WeightsError(f"{target}: neither a file nor a published model ({', '.join(PUBLISHED)})")
    digest = sha256_of(path)
    for entry in PUBLISHED.values():
        if entry.sha256 == digest:
            load_pretrained(entry.name, path)
            return f"{path}: the published {entry.name} file (sha256 ok), loads exactly"
    fits = fitting_architectures(read_state_dict(path))
    if not fits:
        raise WeightsError(f"{path}: not a published file (sha256 {digest}) and its keys fit no known architecture")
    return f"{path}: not a published file (sha256 {digest}); its keys and shapes fit {', '.join(fits)}"
