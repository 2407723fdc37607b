"""Command-line options shared by the audio-visual explanation commands (explain, explain-track, explain-evidence).

``map_settings_options`` adds the map options to a command and hands the command ONE ``settings``
argument, the ``MapSettings`` they describe: the only place where the command line becomes map settings.
The reference choices are the registered references (``explain.references.MAP_REFERENCES``).
"""
from __future__ import annotations

import functools
from dataclasses import fields
from typing import Callable

import click

from ..explain.map_settings import INTERPOLATIONS, MapSettings
from ..explain.references import MAP_REFERENCES

REFERENCES = list(MAP_REFERENCES)
_DEFAULT = MapSettings()
_FIELDS = tuple(f.name for f in fields(MapSettings))


def _option(flag: str, **kwargs) -> Callable:
    """A click option for the ``MapSettings`` field named by ``flag`` (``--top-percent`` -> top_percent),
    its default taken from ``MapSettings``."""
    name = flag.split("/")[0].lstrip("-").replace("-", "_")
    return click.option(flag, default=getattr(_DEFAULT, name), **kwargs)


def map_settings_options(command: Callable) -> Callable:
    """How SE maps are drawn: which channels are kept, the upsampling, and what activity is measured against.
    The wrapped command receives ``settings: MapSettings`` instead of the individual options."""
    options = [
        _option("--z", type=float, show_default=True,
                help="Keep channels above mean + z * std of the SE vector."),
        _option("--top-percent", type=float, help="Keep exactly the top PERCENT channels instead."),
        _option("--interpolation", type=click.Choice(INTERPOLATIONS), show_default=True,
                help="Upsampling of the maps to the crop or the spectrogram."),
        _option("--reference", type=click.Choice(REFERENCES), show_default=True,
                help="Maps of the SE-scaled activations (zero, the paper), of their distance from the clip's "
                     "mean, of the channels that rise with the speaking logit (speaking), or of how much "
                     "each kept channel changes within 1 s around the frame (motion; docs/explain_av.md)."),
        click.option("--audio-reference", type=click.Choice(REFERENCES), default=None,
                     help="The audio attention's reference when it should differ from --reference."),
        click.option("--body-reference", type=click.Choice(REFERENCES), default=None,
                     help="The body maps' reference when it should differ from the face maps' (--reference)."),
        _option("--motion-window", type=int, show_default=True,
                help="Frames (odd) of the motion reference's window."),
        _option("--occlusion/--no-occlusion", show_default=True,
                help="Also measure each modality's occlusion importance (the score without it)."),
    ]

    @functools.wraps(command)
    def with_settings(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in _FIELDS if name in kwargs}
        try:
            settings = MapSettings(**values)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
        return command(*args, settings=settings, **kwargs)

    for option in reversed(options):
        with_settings = option(with_settings)
    return with_settings
