"""``asd-explain distill``: train only the SE blocks of a published model by distillation (no labels)."""
from __future__ import annotations

import click


@click.command("distill")
@click.option("--pretrained", type=click.Choice(["light-asd", "lr-asd"]), required=True, help="Published model.")
@click.option("--videos", multiple=True, required=True, type=click.Path(exists=True),
              help="Video file or folder (recursive); repeat for more. No labels needed.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False),
              help="Run folder: prepared tracks, checkpoints (last.pt, best.pt), log.csv. Rerun to resume.")
@click.option("--holdout-videos", multiple=True, type=click.Path(exists=True),
              help="Videos used only for the agreement log, never for training.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="The published weights file.")
@click.option("--steps", type=click.IntRange(min=1), default=80, show_default=True)
@click.option("--clips-per-step", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--lr", type=float, default=1e-2, show_default=True)
@click.option("--sparsity-weight", type=click.FloatRange(min=0.0), default=0.5, show_default=True,
              help="Weight of the gate sparsity loss (mean gate of every SE block).")
@click.option("--sparsity-blocks", type=click.Choice(["face", "audio", "fusion"]), multiple=True,
              default=("face", "fusion"), show_default=True,
              help="SE blocks the sparsity loss pulls down (repeat the option for each).")
@click.option("--share-weight", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="Weight of the term asking the fusion SE's audio share to rank frames as the teacher's audio "
                   "occlusion effect does (0 = off; docs/pretrained.md).")
@click.option("--share-slope", type=click.FloatRange(min=0.0), default=0.2, show_default=True,
              help="Share difference asked per unit of audio occlusion difference.")
@click.option("--se-activation", type=click.Choice(["leaky_relu", "relu"]), default="leaky_relu",
              show_default=True, help="SE hidden activation (relu: as runs made before this option).")
@click.option("--face-variants", type=click.IntRange(min=1), default=2, show_default=True,
              help="Versions of each track's crops (as is + augmented) whose encoder maps are computed once.")
@click.option("--eval-every", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(pretrained, videos, run_dir, holdout_videos, weights, steps, clips_per_step, lr, sparsity_weight,
            sparsity_blocks, share_weight, share_slope, se_activation, face_variants, eval_every, checkpoint_every,
            seed, quiet) -> None:
    """Distil SE gates into a published model (Light-ASD / LR-ASD) from the frozen original on unlabelled
    videos, with augmentation; writes RUN/checkpoints/best.pt (load_distilled)."""
    from ..distill import DistillConfig, DistillError, distill
    from ..models.weights_file import WeightsError

    cfg = DistillConfig(pretrained=pretrained, steps=steps, clips_per_step=clips_per_step, lr=lr,
                        sparsity_weight=sparsity_weight, share_weight=share_weight, share_slope=share_slope,
                        sparsity_blocks=tuple(sparsity_blocks),
                        se_activation=se_activation, face_variants=face_variants, eval_every=eval_every,
                        checkpoint_every=checkpoint_every,
                        seed=seed)
    try:
        best = distill(videos, run_dir, cfg, weights=weights, holdout_videos=holdout_videos,
                       progress=not quiet, report=click.echo)
    except (DistillError, WeightsError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"distilled SE checkpoint: {best}")
