"""The shipped configs are package data: a wheel built from this tree holds them, and the installed package
finds the demo's config through importlib.resources with nothing but the wheel's files on its path."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from asd_explain.resources import shipped_config, shipped_configs
from data_prep.demo import DEMO_CONFIG

ROOT = Path(__file__).resolve().parents[1]


def test_source_checkout_finds_the_shipped_configs():
    assert shipped_config(DEMO_CONFIG) == ROOT / "configs" / DEMO_CONFIG
    assert {p.name for p in (ROOT / "configs").glob("*.yaml")} == set(shipped_configs())
    with pytest.raises(FileNotFoundError, match="not a config shipped"):
        shipped_config("nope.yaml")


@pytest.mark.slow
def test_wheel_ships_the_configs_and_the_installed_package_finds_them(tmp_path):
    source = tmp_path / "src"  # build from a copy: pip builds in the tree it is given
    source.mkdir()
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("asd_explain", "data_prep", "configs"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("asd_explain-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert f"asd_explain/configs/{DEMO_CONFIG}" in names
    assert {f"asd_explain/configs/{p.name}" for p in (ROOT / "configs").glob("*.yaml")} <= set(names)
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    probe = ("import asd_explain, sys; from asd_explain.resources import shipped_config; "
             "from data_prep.demo import DEMO_CONFIG; "
             "print(asd_explain.__file__); print(shipped_config(DEMO_CONFIG))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    package_file, config = out.stdout.split()
    assert Path(package_file).is_relative_to(target)  # the installed copy, not this checkout
    assert Path(config) == target / "asd_explain" / "configs" / DEMO_CONFIG
    assert Path(config).read_bytes() == (ROOT / "configs" / DEMO_CONFIG).read_bytes()
