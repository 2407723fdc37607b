"""``asd-explain compare``: SE vs GradCAM, GradCAM++, EigenGradCAM, FullGrad on the audio-visual model."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("compare")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="A training checkpoint (.pt).")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store, or a folder with one store per split.")
@click.option("--split", default="val", show_default=True, help="Split (store subfolder) when --data holds several.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Report folder (compare.md/.csv/.json, per_clip.csv, PNGs); resumes if interrupted.")
@click.option("--corpus", type=click.Path(file_okay=False), default=None,
              help="The synthetic corpus the store was made from (asd-prep synth): adds pointing against its "
                   "evidence (mouth box, gesture box, voiced audio frames).")
@click.option("--methods", default="se,gradcam,gradcam++,eigengradcam,fullgrad", show_default=True,
              help="Comma-separated: se, se-clipmean (SE maps relative to the clip's mean), se-speaking (channels "
                   "that rise with the speaking logit), se-motion (how much each kept channel changes within 1 s), "
                   "gradcam, gradcam++, "
                   "eigengradcam, fullgrad, eigencam, layercam.")
@click.option("--modalities", default="face,body,audio", show_default=True, help="Comma-separated.")
@click.option("--clips", default=24, show_default=True, help="Clips compared, spread over the store's tracks.")
@click.option("--clip-frames", default=32, show_default=True, help="Frames per clip.")
@click.option("--batch-size", default=4, show_default=True, help="Clips per explanation call.")
@click.option("--steps", default=16, show_default=True, help="Deletion/Insertion steps (curve points - 1).")
@click.option("--metric-batch", default=16, show_default=True, help="Perturbed clips per forward.")
@click.option("--tolerance-px", default=0.0, show_default=True, help="Pointing-game tolerance.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(checkpoint, data, split, out_dir, corpus, methods, modalities, clips, clip_frames, batch_size, steps,
            metric_batch, tolerance_px, device, quiet) -> None:
    """Deletion/Insertion per modality, pointing against evidence, and time: SE vs the grad-cam family."""
    from ..data.store import StoreError, TrackStore
    from ..explain.av_compare import AVCompareConfig, compare_av
    from ..metrics.deletion import CausalSettings
    from ..runtime import resolve_device
    from ..train.checkpoint import CheckpointError, load_model
    from ..train.store_batches import check_store_fits, resolve_store

    try:
        cfg = AVCompareConfig(methods=tuple(methods.split(",")), modalities=tuple(modalities.split(",")), clips=clips,
                              clip_frames=clip_frames, batch_size=batch_size,
                              causal=CausalSettings(steps=steps, batch_size=metric_batch),
                              pointing_tolerance_px=tolerance_px)
        model, _ = load_model(checkpoint, resolve_device(device))
        store = TrackStore(resolve_store(data, split))
        check_store_fits(store, model.config)
        result = compare_av(model, store, cfg, out_dir, corpus=corpus, info={"checkpoint": checkpoint},
                            progress=not quiet)
    except (CheckpointError, StoreError, ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    for s in result.summary:
        extra = f"  pointing {s['pointing_pct']:.1f}%" if s.get("pointing_pct") is not None else ""
        click.echo(f"{s['modality']:>5} {s['method']:>12}  deletion {s['deletion_auc']:.4f}  insertion "
                   f"{s['insertion_auc']:.4f}  {s['ms_per_clip']:.0f} ms/clip{extra}")
    click.echo(f"report: {Path(out_dir) / 'compare.md'}")
