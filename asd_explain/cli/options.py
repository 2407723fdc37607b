"""Command-line options shared by the audio-visual explanation commands (explain, explain-track, explain-evidence)."""
from __future__ import annotations

from typing import Callable

import click

REFERENCES = ["zero", "clip-mean", "speaking", "motion"]  # explain.av.REFERENCES (a test keeps them equal)


def se_map_options(command: Callable) -> Callable:
    """How SE maps are drawn: which channels are kept, the upsampling, and what activity is measured against."""
    options = [
        click.option("--z", type=float, default=1.282, show_default=True,
                     help="Keep channels above mean + z * std of the SE vector."),
        click.option("--top-percent", type=float, default=None, help="Keep exactly the top PERCENT channels instead."),
        click.option("--interpolation", type=click.Choice(["bicubic", "bilinear", "nearest"]), default="bicubic",
                     show_default=True, help="Upsampling of the maps to the crop or the spectrogram."),
        click.option("--reference", type=click.Choice(REFERENCES), default="zero", show_default=True,
                     help="Maps of the SE-scaled activations (zero, the paper), of their distance from the clip's "
                          "mean, of the channels that rise with the speaking logit (speaking), or of how much "
                          "each kept channel changes within 1 s around the frame (motion; docs/explain_av.md)."),
        click.option("--audio-reference", type=click.Choice(REFERENCES), default=None,
                     help="The audio attention's reference when it should differ from --reference."),
        click.option("--body-reference", type=click.Choice(REFERENCES), default=None,
                     help="The body maps' reference when it should differ from the face maps' (--reference)."),
        click.option("--motion-window", type=int, default=25, show_default=True,
                     help="Frames (odd) of the motion reference's window."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
