"""Distilled SE checkpoints: the SE blocks' parameters + everything needed to rebuild and trust the model.

A checkpoint (``torch.save`` dict, loadable with ``weights_only=True``):
  format             "asd_explain.distilled_se/1"
  pretrained         the published model's name ("light-asd", "lr-asd")
  weights_sha256     sha256 of the weights file the teacher (and the student's frozen part) came from
  se_reduction, audio_squeeze   how the SE blocks were built (and se_activation; absent before it existed:
                     "relu")
  se_state           the SE blocks' state dict (``model.se``)
  config             the DistillConfig as a dict (``config_to_dict``)
  preprocessing      the model's input contract (dict of ``Preprocessing``)
  step, eval         the step it was written at and the last held-out agreement
  optimizer, rng, best   for resuming (``last.pt``)
``load_distilled(path)`` rebuilds the model in one call.
"""
from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..models.pretrained import load_pretrained, published_weights, resolve_weights
from ..models.pretrained_model import PretrainedASDModel
from ..models.weights_file import sha256_of
from ..train.checkpoint import atomic_torch_save

DISTILLED_FORMAT = "asd_explain.distilled_se/1"
REQUIRED = ("format", "pretrained", "weights_sha256", "se_reduction", "audio_squeeze", "se_state", "config",
            "preprocessing", "step")


class DistillError(ValueError):
    """A distillation input or checkpoint that cannot be used; the message is one line naming the file."""


def make_state(model: PretrainedASDModel, *, pretrained: str, weights_sha256: str, config: dict[str, Any],
               step: int, eval_metrics: dict[str, float] | None = None, **resume: Any) -> dict[str, Any]:
    """The checkpoint dict (``resume``: optimizer, rng, best... for ``last.pt``)."""
    se = model.se_blocks()
    return {"format": DISTILLED_FORMAT, "pretrained": pretrained, "weights_sha256": weights_sha256,
            "se_reduction": int(se["face"].reduction), "audio_squeeze": str(se["audio"].squeeze),
            "se_activation": str(se["face"].activation),
            "se_state": {k: v.detach().cpu().clone() for k, v in model.se.state_dict().items()},
            "config": config, "preprocessing": dataclasses.asdict(model.preprocessing), "step": int(step),
            "eval": dict(eval_metrics or {}), **resume}


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """Atomic write (temp file + rename): a stop at any moment leaves the old or the new file."""
    return atomic_torch_save(state, path)


def read_distilled(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, checked; ``DistillError`` (one line naming the file) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DistillError(f"{path}: no such distilled checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DistillError(f"{path}: truncated or unreadable checkpoint ({first})") from None
    except Exception as err:  # unpickling errors of any type from a foreign file
        raise DistillError(f"{path}: not a distilled SE checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != DISTILLED_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise DistillError(f"{path}: not a distilled SE checkpoint (format {found!r}, "
                           f"expected {DISTILLED_FORMAT!r})")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise DistillError(f"{path}: distilled checkpoint lacks {', '.join(missing)}")
    return state


def load_distilled(path: str | Path, weights: str | Path | None = None, *, device: str | torch.device = "cpu",
                   cache_dir: str | Path | None = None) -> PretrainedASDModel:
    """The published model + its distilled SE blocks, eval mode, on ``device``.

    ``weights``: the published file (default: looked up as ``load_pretrained`` does); its sha256 must be
    the one the checkpoint was distilled from.
    """
    state = read_distilled(path)
    name = state["pretrained"]
    try:
        published_weights(name)
        file = resolve_weights(name, weights, cache_dir)
    except ValueError as err:
        raise DistillError(f"{path}: {err}") from None
    if sha256_of(file) != state["weights_sha256"]:
        raise DistillError(f"{path}: distilled from weights with sha256 {state['weights_sha256']}, but "
                           f"{file} has another; pass the file it was distilled from (--weights)")
    model = load_pretrained(name, file, se=True, se_reduction=int(state["se_reduction"]),
                            audio_squeeze=str(state["audio_squeeze"]),
                            se_activation=str(state.get("se_activation", "relu")), verify_sha256=False)
    try:
        model.se.load_state_dict(state["se_state"], strict=True)
    except RuntimeError as err:
        raise DistillError(f"{path}: SE state does not fit {name} ({str(err).splitlines()[0]})") from None
    model.distilled_from = str(path)
    return model.to(device).eval()
