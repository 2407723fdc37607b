"""Commands from other packages reach ``asd-explain`` through the ``asd_explain.commands`` entry points."""
from __future__ import annotations

import configparser
import importlib.metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from asd_explain.cli.registry import ENTRY_POINT_GROUP, register_entry_points

ROOT = Path(__file__).resolve().parents[1]


def declared_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The group's entries as setup.cfg declares them (what ``pip install -e .`` installs)."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    text = parser.get("options.entry_points", ENTRY_POINT_GROUP)
    entries = [line.split("=", 1) for line in text.strip().splitlines()]
    return [importlib.metadata.EntryPoint(name.strip(), value.strip(), ENTRY_POINT_GROUP) for name, value in entries]


def test_demo_is_declared_by_data_prep_and_registers():
    entries = declared_entry_points()
    assert [(e.name, e.value) for e in entries] == [("demo", "data_prep.demo:command")]
    group = register_entry_points(click.Group("asd-explain"), entries)
    result = CliRunner().invoke(group, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    assert "--kind" in result.output and "--minutes" in result.output


def test_existing_command_wins_and_non_commands_fail():
    group = click.Group("asd-explain")
    group.add_command(click.Command("demo", callback=lambda: None))
    register_entry_points(group, declared_entry_points())
    assert group.commands["demo"].callback is not None and group.commands["demo"].params == []
    bad = importlib.metadata.EntryPoint("bad", "asd_explain.constants:DEFAULT_Z", ENTRY_POINT_GROUP)
    with pytest.raises(RuntimeError, match="not a click command"):
        register_entry_points(click.Group("x"), [bad])
