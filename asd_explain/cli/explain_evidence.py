"""``asd-explain explain-evidence``: do the SE explanations point at the synthetic corpus's evidence?"""
from __future__ import annotations

from pathlib import Path

import click

from .options import map_settings_options


@click.command("explain-evidence")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="A training checkpoint (.pt).")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store made from the corpus (asd-prep wasd CORPUS ...), or a folder of split stores.")
@click.option("--split", default="val", show_default=True, help="Split (store subfolder) when --data holds several.")
@click.option("--corpus", required=True, type=click.Path(file_okay=False),
              help="The synthetic corpus (asd-prep synth) with evidence/<video_id>.npz.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Report folder (evidence.md, evidence.json, per_track.csv).")
@click.option("--max-tracks", default=0, show_default=True, help="First N tracks only (0 = all).")
@click.option("--tolerance-px", default=0.0, show_default=True, help="Pointing-game tolerance in crop pixels.")
@click.option("--voiced-envelope", default=0.1, show_default=True,
              help="Syllable envelope above which a voice counts as voiced.")
@map_settings_options
@click.option("--method", default="se", show_default=True,
              help="The explainer: se (SE maps with the map options), se-clipmean, se-speaking, se-motion, or a "
                   "grad-cam baseline (gradcam, gradcam++, eigengradcam, fullgrad; maps only, no importance).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(checkpoint, data, split, corpus, out_dir, max_tracks, tolerance_px, voiced_envelope, settings, method,
            device, quiet) -> None:
    """Mouth-box pointing, audio attention on voiced frames, face share after blanking the faces."""
    from ..data.store import StoreError, TrackStore
    from ..explain.av_evidence import EvidenceConfig, check_evidence
    from ..runtime import resolve_device
    from ..train.checkpoint import CheckpointError, load_model
    from ..train.store_batches import check_store_fits, resolve_store

    try:
        cfg = EvidenceConfig(max_tracks=max_tracks, pointing_tolerance_px=tolerance_px,
                             voiced_envelope=voiced_envelope, maps=settings, method=method)
        model, _ = load_model(checkpoint, resolve_device(device))
        store = TrackStore(resolve_store(data, split))
        check_store_fits(store, model.config)
        check_evidence(model, store, corpus, cfg, out_dir, progress=not quiet,
                       info={"checkpoint": checkpoint, "store": str(store.path), "corpus": corpus,
                             "method": method, **settings.to_dict()})
    except (CheckpointError, StoreError, ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo((Path(out_dir) / "evidence.md").read_text().rstrip())
