"""Entry point of ``asd-explain``."""
from __future__ import annotations

import click

from .. import __version__
from . import registry


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asd-explain")
def cli() -> None:
    """Explainable active speaker detection: train, score and explain with SE heatmaps."""


def main() -> None:
    from .. import cli as package

    registry.register_commands(cli, package)
    registry.register_entry_points(cli)
    cli()


if __name__ == "__main__":
    main()
