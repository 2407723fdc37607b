"""SE heatmaps: keep the most excited channels of the SE-scaled map, average them, upsample.

For one sample with excitation ``s`` (C values) and SE-scaled features ``f * s`` (C maps):
  1. threshold = mean(s) + z * std(s) (population std over the sample's own C values; z = 1.282 keeps
     the top 10% of a normal distribution, 1.645 the top 5%), or an exact top-k% when asked;
  2. r = number of channels above it (at least one: the largest); their maps are averaged;
  3. the average is upsampled to the input size (bicubic, align_corners=False, by default) and
     min-max scaled to [0, 1].
Shapes: 1-D maps (B, C, L), images / spectrograms (B, C, H, W), video (B, C, T, H, W) with a per-clip
``s`` (B, C) or a per-frame ``s`` (B, C, T).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F

from ..constants import DEFAULT_Z

Interpolation = Literal["bicubic", "bilinear", "nearest"]
Normalize = Literal["sample", "frame", "none"]


@dataclass
class SEMaps:
    """Heatmaps and what made them.

    maps:       (B, *out_size) in [0, 1] (unless normalize="none").
    excitation: the SE vector used, (B, C) or (B, C, T).
    kept:       bool mask of the channels averaged, same shape as ``excitation``.
    threshold:  the per-vector threshold, (B,) or (B, T).
    """

    maps: torch.Tensor
    excitation: torch.Tensor
    kept: torch.Tensor
    threshold: torch.Tensor

    @property
    def kept_fraction(self) -> torch.Tensor:
        """Fraction of channels kept per vector, (B,) or (B, T)."""
        return self.kept.float().mean(dim=1)


def select_channels(
    s: torch.Tensor, z: float = DEFAULT_Z, top_percent: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which channels to keep, per vector. ``s``: (B, C) or (B, C, T) -> (kept bool like s, threshold).

    With ``top_percent`` the top ceil(C * top_percent / 100) channels are kept exactly; otherwise those
    strictly above mean + z * std. At least one channel (the largest) is always kept.
    """
    if s.dim() not in (2, 3):
        raise ValueError(f"excitation must be (B, C) or (B, C, T), got shape {tuple(s.shape)}")
    channels = s.shape[1]
    top = s.argmax(dim=1, keepdim=True)
    if top_percent is not None:
        if not 0 < top_percent <= 100:
            raise ValueError(f"top_percent must be in (0, 100], got {top_percent}")
        k = max(1, math.ceil(channels * top_percent / 100.0 - 1e-9))
        values, idx = s.topk(k, dim=1)
        kept = torch.zeros_like(s, dtype=torch.bool).scatter_(1, idx, True)
        return kept, values.min(dim=1).values
    threshold = s.mean(dim=1) + z * s.std(dim=1, unbiased=False)
    kept = s > threshold.unsqueeze(1)
    kept.scatter_(1, top, True)
    return kept, threshold


def se_heatmaps(
    scaled: torch.Tensor,
    excitation: torch.Tensor,
    out_size: Sequence[int] | None = None,
    *,
    z: float = DEFAULT_Z,
    top_percent: float | None = None,
    interpolation: Interpolation = "bicubic",
    normalize: Normalize = "sample",
) -> SEMaps:
    """Heatmaps from the SE-scaled feature map and its excitation, all samples at once.

    Args:
        scaled: SE output ``features * s``: (B, C, L), (B, C, H, W) or (B, C, T, H, W).
        excitation: ``s``: (B, C), or (B, C, T) for a per-frame squeeze of video maps.
        out_size: target size: (L,), (H, W), or for video (H, W) / (T, H, W); None keeps the map size.
        z, top_percent: channel selection (see ``select_channels``).
        interpolation: "bicubic" (paper), "bilinear" or "nearest".
        normalize: min-max to [0, 1] per "sample", per "frame" (video), or "none".
    Returns:
        SEMaps with maps of shape (B, *out_size).
    """
    if scaled.dim() not in (3, 4, 5):
        raise ValueError(f"scaled map must be 3-D, 4-D or 5-D, got shape {tuple(scaled.shape)}")
    if excitation.shape[:2] != scaled.shape[:2]:
        raise ValueError(
            f"excitation {tuple(excitation.shape)} does not match map {tuple(scaled.shape)} in (B, C)"
        )
    kept, threshold = select_channels(excitation, z=z, top_percent=top_percent)
    weights = kept.to(scaled.dtype)
    weights = weights / weights.sum(dim=1, keepdim=True)
    if scaled.dim() == 5 and excitation.dim() == 3:  # per-frame selection: (B, C, T)
        cam = (scaled * weights[..., None, None]).sum(dim=1)  # (B, T, H, W)
    else:
        cam = torch.einsum("bc...,bc->b...", scaled, weights)
    cam = _upsample(cam, out_size, interpolation)
    cam = _normalize(cam, normalize)
    return SEMaps(maps=cam, excitation=excitation, kept=kept, threshold=threshold)


def _upsample(cam: torch.Tensor, out_size: Sequence[int] | None, mode: Interpolation) -> torch.Tensor:
    """cam: (B, L), (B, H, W) or (B, T, H, W) -> (B, *out_size)."""
    if mode not in ("bicubic", "bilinear", "nearest"):
        raise ValueError(f"interpolation must be bicubic, bilinear or nearest, got {mode!r}")
    if out_size is None:
        return cam
    out_size = tuple(int(v) for v in out_size)
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    if cam.dim() == 2:  # 1-D maps: treat as one row
        (length,) = out_size
        return F.interpolate(cam[:, None, None, :], size=(1, length), mode=mode, **kwargs)[:, 0, 0]
    if cam.dim() == 3:
        return F.interpolate(cam[:, None], size=out_size[-2:], mode=mode, **kwargs)[:, 0]
    b, t, h, w = cam.shape
    frames = F.interpolate(cam.reshape(b * t, 1, h, w), size=out_size[-2:], mode=mode, **kwargs)
    frames = frames.reshape(b, t, *out_size[-2:])
    if len(out_size) == 3 and out_size[0] != t:  # temporal stride in the encoder: stretch over time
        time_mode = "nearest" if mode == "nearest" else "linear"
        hw = out_size[1] * out_size[2]
        flat = frames.reshape(b, t, hw).transpose(1, 2)  # (B, HW, T)
        tk = {} if time_mode == "nearest" else {"align_corners": False}
        flat = F.interpolate(flat, size=out_size[0], mode=time_mode, **tk)
        frames = flat.transpose(1, 2).reshape(b, *out_size)
    return frames


def _normalize(cam: torch.Tensor, how: Normalize) -> torch.Tensor:
    if how == "none":
        return cam
    if how not in ("sample", "frame"):
        raise ValueError(f"normalize must be sample, frame or none, got {how!r}")
    start = 2 if (how == "frame" and cam.dim() == 4) else 1
    flat = cam.flatten(start)
    lo = flat.min(dim=-1, keepdim=True).values
    hi = flat.max(dim=-1, keepdim=True).values
    flat = ((flat - lo) / (hi - lo).clamp_min(1e-12)).clamp_(0.0, 1.0)
    return flat.view_as(cam)
