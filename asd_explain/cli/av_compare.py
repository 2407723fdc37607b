"""``asd-explain compare``: SE vs GradCAM, GradCAM++, EigenGradCAM, FullGrad on the audio-visual model, the
toolkit's (``--checkpoint``) or a published one (``--pretrained light-asd|lr-asd [--se-checkpoint]``)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("compare")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="A training checkpoint (.pt).")
@click.option("--pretrained", type=click.Choice(["light-asd", "lr-asd"]), default=None,
              help="Instead of --checkpoint: a published AVA model with SE blocks (identity at initialisation, or "
                   "--se-checkpoint's); the store must hold grey 112 px crops (e.g. the authors' crops).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="With --pretrained: the weights file (default: looked up as `asd-explain weights list` shows).")
@click.option("--se-checkpoint", type=click.Path(dir_okay=False), default=None,
              help="With --pretrained: distilled SE blocks (asd-explain distill) for the model.")
@click.option("--data", required=True, type=click.Path(file_okay=False),
              help="Track store, or a folder with one store per split.")
@click.option("--split", default="val", show_default=True, help="Split (store subfolder) when --data holds several.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Report folder (compare.md/.csv/.json, per_clip.csv, PNGs); resumes if interrupted.")
@click.option("--corpus", type=click.Path(file_okay=False), default=None,
              help="The synthetic corpus the store was made from (asd-prep synth): adds pointing against its "
                   "evidence (mouth box, gesture box, voiced audio frames).")
@click.option("--methods", default="se,gradcam,gradcam++,eigengradcam,fullgrad", show_default=True,
              help="Comma-separated: se, se-paper (the paper's channel rule, where se keeps every channel), "
                   "se-clipmean (SE maps relative to the clip's mean), se-speaking (channels "
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
def command(checkpoint, pretrained, weights, se_checkpoint, data, split, out_dir, corpus, methods, modalities, clips,
            clip_frames, batch_size, steps, metric_batch, tolerance_px, device, quiet) -> None:
    """Deletion/Insertion per modality, pointing against evidence, and time: SE vs the grad-cam family."""
    from ..data.store import StoreError, TrackStore
    from ..explain.av_compare import AVCompareConfig, compare_av
    from ..metrics.deletion import CausalSettings
    from ..runtime import resolve_device
    from ..train.checkpoint import CheckpointError
    from ..train.store_batches import resolve_store

    if (checkpoint is None) == (pretrained is None):
        raise click.UsageError("give exactly one of --checkpoint and --pretrained")
    if pretrained is None and (weights or se_checkpoint):
        raise click.UsageError("--weights and --se-checkpoint go with --pretrained")
    try:
        store = TrackStore(resolve_store(data, split))
        model, maps, info = load_compared_model(store, resolve_device(device), checkpoint, pretrained, weights,
                                                se_checkpoint)
        cfg = AVCompareConfig(methods=tuple(methods.split(",")), modalities=tuple(modalities.split(",")), clips=clips,
                              clip_frames=clip_frames, batch_size=batch_size,
                              causal=CausalSettings(steps=steps, batch_size=metric_batch),
                              pointing_tolerance_px=tolerance_px, maps=maps)
        result = compare_av(model, store, cfg, out_dir, corpus=corpus, info=info, progress=not quiet)
    except (CheckpointError, StoreError, ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    for s in result.summary:
        extra = f"  pointing {s['pointing_pct']:.1f}%" if s.get("pointing_pct") is not None else ""
        if s.get("mouth_pct") is not None:
            extra += f"  mouth {s['mouth_pct']:.1f}% lips {s['lips_pct']:.1f}%"
        click.echo(f"{s['modality']:>5} {s['method']:>12}  deletion {s['deletion_auc']:.4f}  insertion "
                   f"{s['insertion_auc']:.4f}  {s['ms_per_clip']:.0f} ms/clip{extra}")
    click.echo(f"report: {Path(out_dir) / 'compare.md'}")


def load_compared_model(store, device, checkpoint: str | None, pretrained: str | None, weights: str | None,
                        se_checkpoint: str | None):
    """(model, SE map settings, info) for ``compare``; the store is checked against the model's inputs."""
    from ..explain.map_settings import MapSettings
    from ..train.store_batches import check_store_fits

    if checkpoint is not None:
        from ..train.checkpoint import load_model

        model, _ = load_model(checkpoint, device)
        check_store_fits(store, model.config)
        return model, MapSettings(), {"checkpoint": checkpoint}
    from ..distill import PRETRAINED_FACE_MAPS, load_distilled
    from ..models.pretrained import load_pretrained
    from ..train.pretrained_sources import check_store_for_pretrained

    if se_checkpoint is not None:
        model = load_distilled(se_checkpoint, weights, device=device)
        if model.architecture != pretrained:
            raise ValueError(f"{se_checkpoint}: SE blocks distilled for {model.architecture}, not {pretrained}")
    else:
        model = load_pretrained(pretrained, weights, se=True).to(device).eval()
    check_store_for_pretrained(store, pretrained)
    return model, PRETRAINED_FACE_MAPS, {"pretrained": pretrained, "se": se_checkpoint or "identity at initialisation"}
