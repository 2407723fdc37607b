"""Command discovery: every module of a CLI package that defines ``command`` is registered.

A module may set ``parent = "<group name>"`` to add its command to a group defined by another module
(e.g. ``image compare``). Each command lives in its own module, so commands are added without editing
a shared file. Other installed packages add commands to ``asd-explain`` through the ``asd_explain.commands``
entry-point group (``name = module:command`` in their setup.cfg), e.g. data_prep's ``demo``; the library
never imports them by name.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Iterable
from types import ModuleType

import click


def register_commands(root: click.Group, package: ModuleType) -> click.Group:
    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in ("main", "registry"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if isinstance(getattr(module, "command", None), click.Command):
            modules.append(module)
    for module in modules:
        if getattr(module, "parent", None) is None:
            root.add_command(module.command)
    for module in modules:
        parent = getattr(module, "parent", None)
        if parent is not None:
            group = root.commands.get(parent)
            if not isinstance(group, click.Group):
                raise RuntimeError(f"{module.__name__}: parent group {parent!r} is not registered")
            group.add_command(module.command)
    return root


ENTRY_POINT_GROUP = "asd_explain.commands"


def register_entry_points(root: click.Group, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
                          ) -> click.Group:
    """Add the commands other installed packages declare in the ``asd_explain.commands`` entry-point group
    (default: those of the installed distributions); a name the CLI already has is left as it is."""
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for entry in entry_points:
        if entry.name in root.commands:
            continue
        command = entry.load()
        if not isinstance(command, click.Command):
            raise RuntimeError(f"entry point {entry.name} = {entry.value} is not a click command")
        root.add_command(command, entry.name)
    return root
