"""Entry point of ``asd-prep``."""
from __future__ import annotations

import click

from asd_explain import __version__
from asd_explain.cli.registry import register_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asd-prep")
def cli() -> None:
    """Prepare AVA-ActiveSpeaker, WASD and synthetic corpora into a track store."""


def main() -> None:
    from . import commands

    register_commands(cli, commands)
    cli()


if __name__ == "__main__":
    main()
