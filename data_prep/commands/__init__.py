"""``asd-prep`` subcommands, one module each (see asd_explain.cli.registry)."""
