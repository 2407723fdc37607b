"""Read a published weights file and load it EXACTLY into a ``PretrainedASDModel``.

Every key of the file is mapped by the model's explicit prefix table (``key_prefixes``: authors' prefix ->
ours); every mapped key must exist in the model with the same shape, and every model key outside the SE
blocks (``se.*``) must come from the file. Anything else is a ``WeightsError``: one line naming the file and
what is wrong (not a state dict, truncated/unreadable, sha256 mismatch, wrong architecture with the first
missing / unexpected keys and shape mismatches).
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Mapping

import torch

from .pretrained_model import PretrainedASDModel

SE_PREFIX = "se."
_SHOWN = 3


class WeightsError(ValueError):
    """A weights file that cannot be used; the message is one line naming the file."""


def sha256_of(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: str | Path, expected: str) -> None:
    """Raise ``WeightsError`` if the file's sha256 is not ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise WeightsError(f"{path}: sha256 mismatch: got {actual}, expected {expected.lower()} "
                           "(a different or corrupted file; download it again)")


def read_state_dict(path: str | Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Load a ``torch.save``-d state dict on CPU (``weights_only``), after the sha256 check if given."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if sha256 is not None:
        check_sha256(path, sha256)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"{path}: truncated or unreadable weights file ({first})") from None
    except Exception as err:  # pickle errors of arbitrary types from a damaged or foreign file
        raise WeightsError(f"{path}: not a PyTorch state dict ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(state, Mapping) or not state:
        raise WeightsError(f"{path}: not a state dict (got {type(state).__name__})")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{path}: not a state dict ({len(bad)} entries are not name -> tensor, "
                           f"e.g. {bad[0]!r})")
    return dict(state)


def map_published_keys(state: Mapping[str, torch.Tensor], key_prefixes: tuple[tuple[str, str], ...]
                       ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename the authors' keys to ours. Returns (mapped state, keys no prefix matched)."""
    mapped: dict[str, torch.Tensor] = {}
    unmatched: list[str] = []
    for key, value in state.items():
        for theirs, ours in key_prefixes:
            if key.startswith(theirs):
                mapped[ours + key[len(theirs):]] = value
                break
        else:
            unmatched.append(key)
    return mapped, unmatched


def _mapped_key(key: str, key_prefixes: tuple[tuple[str, str], ...]) -> str | None:
    for theirs, ours in key_prefixes:
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return None


def fitting_architectures(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the published architectures whose keys and shapes the state dict matches exactly."""
    from .light_asd import LightASD
    from .lr_asd import LRASD

    fits = []
    for cls in (LightASD, LRASD):
        mapped, unmatched = map_published_keys(state, cls.key_prefixes)
        own = cls().state_dict()
        if not unmatched and mapped.keys() == own.keys() and all(v.shape == own[k].shape for k, v in mapped.items()):
            fits.append(cls.architecture)
    return fits


def _inverse_key(key: str, key_prefixes: tuple[tuple[str, str], ...]) -> str:
    for theirs, ours in key_prefixes:
        if key.startswith(ours):
            return theirs + key[len(ours):]
    return key


def _listing(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def load_published(model: PretrainedASDModel, path: str | Path, sha256: str | None = None) -> PretrainedASDModel:
    """Load the authors' file into ``model`` (strict: every key used, none missing, same shapes)."""
    state = read_state_dict(path, sha256)
    prefixes = model.key_prefixes
    mapped, unmatched = map_published_keys(state, prefixes)
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(SE_PREFIX)}
    unexpected = [k for k in state if k in unmatched or _mapped_key(k, prefixes) not in own]
    missing = [_inverse_key(k, prefixes) for k in own if k not in mapped]
    shapes = [f"{_inverse_key(k, prefixes)} {tuple(v.shape)} vs {tuple(own[k].shape)}"
              for k, v in mapped.items() if k in own and v.shape != own[k].shape]
    if unexpected or missing or shapes:
        parts = [f"{name} {_listing(keys)}" for name, keys in
                 (("missing keys", missing), ("unexpected keys", unexpected),
                  ("shape mismatches (file vs model)", shapes)) if keys]
        fits = [name for name in fitting_architectures(state) if name != model.architecture]
        hint = f" (the file fits {', '.join(fits)})" if fits else ""
        raise WeightsError(f"{path}: not a {model.architecture} state dict{hint}: " + "; ".join(parts))
    model.load_state_dict(mapped, strict=False)  # strictness checked above; se.* keep their init
    return model
