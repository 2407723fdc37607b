"""``asd-explain occlusion``: val AP with each modality's input blanked, and the drop from the clean AP."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("occlusion")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="A training checkpoint (.pt).")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store, or a folder with one store per split.")
@click.option("--split", default="val", show_default=True, help="Split (store subfolder) when --data holds several.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (occlusion.json).")
@click.option("--chunk-frames", default=256, show_default=True, help="Longest piece of a track scored at once.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(checkpoint: str, data: str, split: str, out_dir: str, chunk_frames: int, device: str,
            quiet: bool) -> None:
    """How much the decision needs each modality: AP clean and with face / body / audio blanked."""
    from ..config import atomic_write_text
    from ..data.store import StoreError, TrackStore
    from ..measure.occlusion import occlusion_ap
    from ..train.checkpoint import CheckpointError, load_model
    from ..train.distributed import resolve_device
    from ..train.store_batches import resolve_store

    try:
        model, _ = load_model(checkpoint, resolve_device(device))
        store = TrackStore(resolve_store(data, split))
        result = occlusion_ap(model, store, chunk_frames=chunk_frames, progress=not quiet)
    except (CheckpointError, StoreError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    result["info"] = {"checkpoint": checkpoint, "store": str(store.path)}
    atomic_write_text(Path(out_dir) / "occlusion.json", json.dumps(result, indent=1) + "\n")
    drops = ", ".join(f"{m} {result['blanked_ap'][m]:.4f} (drop {d:+.4f})" for m, d in result["ap_drop"].items())
    click.echo(f"val AP {result['val_ap']:.4f}; blanked: {drops}")
