"""Command discovery: every module of a CLI package that defines ``command`` is registered.

A module may set ``parent = "<group name>"`` to add its command to a group defined by another module
(e.g. ``image compare``). Each command lives in its own module, so commands are added without editing
a shared file.
"""
from __future__ import annotations

import importlib
import pkgutil
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
