"""``asd-explain image compare``: SE vs the grad-cam family on a trained image classifier."""
from __future__ import annotations

from pathlib import Path

import click

parent = "image"


@click.command("compare")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="Image-recipe checkpoint.pt.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Report folder (compare.md/.csv/.json, per_image.csv, PNGs); resumes if interrupted.")
@click.option("--methods", default="se,gradcam,gradcam++,eigengradcam,fullgrad", show_default=True,
              help="Comma-separated: se, gradcam, gradcam++, eigengradcam, fullgrad, eigencam, layercam, scorecam.")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--count", type=int, default=120, show_default=True, help="Images compared (the first COUNT).")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Images per explanation call.")
@click.option("--target-layer", help="grad-cam layer (default: the SE block's output, as the SE maps).")
@click.option("--step", type=int, help="Pixels changed per Deletion/Insertion step (default: the image width).")
@click.option("--steps", type=int, help="Number of Deletion/Insertion steps instead of --step.")
@click.option("--deletion-baseline", type=click.Choice(["zero", "blur"]), default="zero", show_default=True)
@click.option("--insertion-baseline", type=click.Choice(["blur", "zero"]), default="blur", show_default=True)
@click.option("--metric-batch", type=int, default=128, show_default=True, help="Perturbed images per forward.")
@click.option("--tolerance-px", type=float, default=0.0, show_default=True, help="Pointing-game tolerance.")
@click.option("--grid", "grid_images", type=int, default=6, show_default=True, help="Images in the PNG grid.")
@click.option("--root", help="Where the dataset lives, if not where it was trained.")
@click.option("--device", default="auto", show_default=True)
def command(checkpoint, out, methods, split, count, batch_size, target_layer, step, steps, deletion_baseline,
            insertion_baseline, metric_batch, tolerance_px, grid_images, root, device) -> None:
    """Explain the same images with every method; Deletion, Insertion, pointing game, energy in mask, time."""
    from ..explain.compare import CompareConfig, compare_checkpoint
    from ..explain.compare_report import methods_table
    from ..metrics.deletion import CausalSettings

    try:
        causal = CausalSettings(step=step, steps=steps, deletion_baseline=deletion_baseline,
                                insertion_baseline=insertion_baseline, batch_size=metric_batch)
        cfg = CompareConfig(methods=tuple(methods.split(",")), count=count, batch_size=batch_size,
                            target_layer=target_layer, causal=causal, pointing_tolerance_px=tolerance_px,
                            grid_images=grid_images)
        result = compare_checkpoint(checkpoint, out, cfg, split=split, root=root, device=device)
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None
    table = methods_table(result.summaries())
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    click.echo(f"report: {Path(out) / 'compare.md'}")
