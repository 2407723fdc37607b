"""``asd-explain explain-track``: SE explanations of dataset tracks (PNG + JSON + maps per track)."""
from __future__ import annotations

import click

from .options import map_settings_options


@click.command("explain-track")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store, or a folder with one store per split.")
@click.option("--split", default="val", show_default=True, help="Split (store subfolder) when --data holds several.")
@click.option("--entity", "entities", multiple=True, required=True, help="Entity id of a track (repeatable).")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="A training checkpoint (.pt).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--chunk-frames", default=256, show_default=True, help="Frames explained at once.")
@click.option("--frames", "n_strip", default=8, show_default=True, help="Frames drawn in the PNG strip.")
@map_settings_options
@click.option("--blank", multiple=True, type=click.Choice(["face", "body", "audio"]),
              help="Blank a modality before explaining (what-if; repeatable).")
@click.option("--no-maps", is_flag=True, help="Do not write the <track>_maps.npz files.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(data: str, split: str, entities: tuple[str, ...], checkpoint: str, out_dir: str, chunk_frames: int,
            n_strip: int, settings, blank: tuple[str, ...], no_maps: bool, device: str, quiet: bool) -> None:
    """Explain whole tracks of a store: face/body heatmaps, spectrogram attention, modality shares."""
    from ..data.store import StoreError, TrackStore
    from ..explain.av_store import explain_store_tracks
    from ..runtime import resolve_device
    from ..train.checkpoint import CheckpointError, load_model
    from ..train.store_batches import check_store_fits, resolve_store

    try:
        model, _ = load_model(checkpoint, resolve_device(device))
        store = TrackStore(resolve_store(data, split))
        check_store_fits(store, model.config)
        written = explain_store_tracks(model, store, entities, out_dir, chunk_frames=chunk_frames, n_strip=n_strip,
                                       maps=not no_maps, settings=settings, blank=blank, progress=not quiet,
                                       extra={"checkpoint": checkpoint})
    except (CheckpointError, StoreError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for paths in written:
        click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
