"""Which modality shares a user is shown (video label, summary.json "modality_shares"), from the importance.

``importance`` is ``{kind: {modality: (T,)}}`` as ``SEAVExplainer`` returns it (``importance.py``). Kinds
that can be shown as shares (non-negative, summing to 1 per frame):

  kept_channels  share of the fusion channels the SE threshold keeps (as BIAS reads its fusion SE);
  se_mass        share of the fusion SE gate's mass;
  occlusion      each modality's share of the absolute occlusion effects |P(speak) - P(speak, blanked)|;
  native_gate    a model's own per-frame modality weight (LR-ASD's fusion gate).

Why the SE mass does not move (measured in docs/pretrained.md): a fusion gate squeezed out of a sigmoid
sits near 0.5 on every channel unless a sparsity loss pushes it, so each modality's mass share is close to
its channel count share (1/3 each for audio | face | body on every frame); an identity-at-init SE (the
published models before distillation) is exactly 1 everywhere (shares 0.5 / 0.5). The kept-channel share
depends only on which channels stand out, so it moves; occlusion measures the decision itself.

``auto`` (the default): the first of kept channels, occlusion, SE mass whose shares move on the track
(``shares_move``: not all within 0.02 of each other, and changing over the frames); a fusion SE whose gate
is the same on every channel (identity at init) keeps no channel that stands out, so such a model shows
occlusion shares.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

SHARE_KINDS = ("auto", "kept_channels", "se_mass", "occlusion", "native_gate")
DEFAULT_SHARES = "auto"
AUTO_ORDER = ("kept_channels", "occlusion", "se_mass")

Importance = Mapping[str, Mapping[str, np.ndarray]]


def occlusion_shares(occlusion: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{modality: (T,)} signed occlusion effects -> each one's share of their absolute sum (0 where all are 0)."""
    names = list(occlusion)
    size = np.stack([np.abs(np.asarray(occlusion[m], np.float64)) for m in names])
    total = size.sum(axis=0)
    shares = np.divide(size, total, out=np.zeros_like(size), where=total > 0)
    return {m: shares[i].astype(np.float32) for i, m in enumerate(names)}


def resolve_share_kind(importance: Importance, kind: str = DEFAULT_SHARES) -> str:
    """The kind ``auto`` stands for on this track (see module docstring); other kinds are returned as given
    when present, else ``ValueError`` naming what is available."""
    if kind not in SHARE_KINDS:
        raise ValueError(f"unknown share kind {kind!r} (valid: {', '.join(SHARE_KINDS)})")
    if kind == "auto":
        measured = [k for k in AUTO_ORDER if k in importance]
        for candidate in measured:
            if shares_move(_as_shares(candidate, importance[candidate])):
                return candidate
        return measured[0] if measured else ""
    if kind not in importance:
        raise ValueError(f"share kind {kind!r} was not measured (have: {', '.join(importance) or 'none'})")
    return kind


def shown_shares(importance: Importance, kind: str = DEFAULT_SHARES) -> tuple[str, dict[str, np.ndarray]]:
    """``(kind used, {modality: (T,)} shares)`` to show; ``("", {})`` when nothing was measured."""
    used = resolve_share_kind(importance, kind)
    if not used:
        return "", {}
    return used, _as_shares(used, importance[used])


def _as_shares(kind: str, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if kind == "occlusion":
        return occlusion_shares(values)
    return {m: np.asarray(v, np.float32) for m, v in values.items()}


def shares_move(shares: Mapping[str, np.ndarray], tolerance: float = 0.02) -> bool:
    """True when the shares tell something: on some frame two modalities' shares differ by more than
    ``tolerance`` (they are not all equal, as 0.33 / 0.33 / 0.34), and some modality's share changes by more
    than ``tolerance`` over the frames (they are not frozen)."""
    if not shares:
        return False
    values = np.stack([np.asarray(v, np.float64) for v in shares.values()])  # (M, T)
    if values.size == 0:
        return False
    apart = np.any(values.max(axis=0) - values.min(axis=0) > tolerance)
    changing = np.any(values.max(axis=1) - values.min(axis=1) > tolerance)
    return bool(apart and changing)
