"""Dataclass configs <-> YAML, strict about keys.

Every run saves its resolved config beside its outputs (``save_config``) and every config file is read
back into the same dataclass (``load_config``); a key the dataclass does not have is a one-line error
naming the file and the key, so a typo never silently falls back to a default.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .atomic import atomic_write

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or dict that does not fit its dataclass."""


def config_to_dict(obj: Any) -> Any:
    """A dataclass (nested too) as plain dicts/lists/scalars, ready for YAML or JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [config_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: config_to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def config_from_dict(cls: type[T], data: dict[str, Any] | None, *, source: str = "config") -> T:
    """Build ``cls`` from a dict; nested dataclass fields are built recursively.

    Raises ConfigError naming ``source`` and the dotted key for unknown keys or non-mapping sections.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r} for {cls.__name__} (valid: {', '.join(sorted(names))})"
        )
    kwargs = {}
    for key, value in data.items():
        kind = _dataclass_type(hints.get(key))
        if kind is not None and isinstance(value, dict):
            kwargs[key] = config_from_dict(kind, value, source=f"{source}: {key}")
        elif kind is not None and value is not None and not dataclasses.is_dataclass(value):
            raise ConfigError(f"{source}: key {key!r} must be a mapping for {kind.__name__}")
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) and _is_tuple(hints.get(key)) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: {err}") from err


def load_config(path: str | os.PathLike, cls: type[T], overrides: dict[str, Any] | None = None) -> T:
    """Read a YAML file into ``cls``; ``overrides`` are dotted keys (``{"train.epochs": 3}``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    return config_from_dict(cls, data, source=str(path))


def save_config(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as YAML atomically (temp file + rename)."""
    path = Path(path)
    atomic_write_text(path, yaml.safe_dump(config_to_dict(obj), sort_keys=False))
    return path


def atomic_save_figure(figure: Any, path: str | os.PathLike, *, dpi: int, **savefig_kwargs: Any) -> Path:
    """A matplotlib figure saved through ``atomic_write`` (PNG whatever the suffix, unless ``format`` says)."""
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, dpi=dpi, format=savefig_kwargs.pop("format", "png"),
                       **savefig_kwargs)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` through ``atomic_write``."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _dataclass_type(hint: Any) -> type | None:
    if dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


def _is_tuple(hint: Any) -> bool:
    return hint is tuple or typing.get_origin(hint) is tuple
