"""Files shipped with the package, found with ``importlib.resources``.

The training and model configs live in the repository's top-level ``configs/`` folder; the build
(``setup.py``) ships them as ``asd_explain/configs/*.yaml``. ``shipped_config(name)`` finds a config in an
installed package (wheel, ``pip install .``) through ``importlib.resources``, and in a source checkout
(``PYTHONPATH`` or an editable install) in ``configs/`` beside the package.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_PACKAGE = "asd_explain.configs"


def shipped_config(name: str) -> Path:
    """Path of the shipped config ``name`` (e.g. ``"train_synth.yaml"``); FileNotFoundError if none."""
    for found in _candidates(name):
        if found.is_file():
            return found
    raise FileNotFoundError(f"{name}: not a config shipped with asd_explain (have: {', '.join(shipped_configs())})")


def shipped_configs() -> list[str]:
    """Names of the shipped configs."""
    folders = [c.parent for c in _candidates("x.yaml")]
    return sorted({p.name for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")})


def _candidates(name: str) -> list[Path]:
    out = []
    try:
        out.append(Path(str(resources.files(CONFIG_PACKAGE).joinpath(name))))
    except (ModuleNotFoundError, TypeError):  # a source checkout: no asd_explain.configs package
        pass
    out.append(Path(__file__).resolve().parents[1] / "configs" / name)
    return out
