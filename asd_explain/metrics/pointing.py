"""Localisation metrics for saliency maps where the evidence is known (a ground-truth mask).

- Pointing game (Zhang et al. 2016): a hit when the map's maximum lies inside the mask, or within
  ``tolerance_px`` pixels of it (Euclidean distance; 0 = strictly inside). Ties for the maximum: the
  first position in row-major order is the one that points.
- Energy in mask: the share of the map's mass inside the mask, sum(map * mask) / sum(map), with
  negative map values clipped to 0; a map with no mass scores 0.
Maps and masks are (B, H, W) for images and spectrograms, or (B, T, H, W) for video (one score per
frame, all frames at once).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def check_mask_size(maps: torch.Tensor, masks: torch.Tensor) -> None:
    """Raise a one-line error naming both sizes when ``masks`` does not match ``maps``."""
    if tuple(masks.shape) != tuple(maps.shape):
        raise ValueError(
            f"mask size {tuple(masks.shape)} does not match map size {tuple(maps.shape)} "
            "(masks must have the maps' shape: (B, H, W) or (B, T, H, W))"
        )


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, tolerance_px: float = 0) -> torch.Tensor:
    """Hits of the pointing game: maps, masks (B, [T,] H, W) -> bool (B,) or (B, T)."""
    check_mask_size(maps, masks)
    if maps.dim() < 3:
        raise ValueError(f"maps must be (B, H, W) or (B, T, H, W), got {tuple(maps.shape)}")
    if tolerance_px < 0:
        raise ValueError(f"tolerance_px must be >= 0, got {tolerance_px}")
    masks = masks.bool()
    if tolerance_px > 0:
        masks = dilate(masks, tolerance_px)
    flat_maps = maps.flatten(-2)
    peak = flat_maps.argmax(dim=-1, keepdim=True)  # first maximum in row-major order
    return masks.flatten(-2).gather(-1, peak).squeeze(-1)


def energy_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of map mass inside the mask: maps, masks (B, [T,] H, W) -> float (B,) or (B, T)."""
    check_mask_size(maps, masks)
    mass = maps.float().clamp_min(0).flatten(-2)
    inside = (mass * masks.flatten(-2).float()).sum(-1)
    total = mass.sum(-1)
    return torch.where(total > 0, inside / total.clamp_min(1e-12), torch.zeros_like(total))


def dilate(masks: torch.Tensor, radius_px: float) -> torch.Tensor:
    """Grow bool masks (..., H, W) by a disk of ``radius_px`` (every pixel within that distance)."""
    reach = int(math.floor(radius_px))
    offsets = torch.arange(-reach, reach + 1, dtype=torch.float32)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius_px**2
    shape = masks.shape
    planes = masks.reshape(-1, 1, *shape[-2:]).float()
    kernel = disk.float().to(planes.device)[None, None]
    grown = F.conv2d(planes, kernel, padding=reach) > 0.5
    return grown.reshape(shape)


def pointing_hits(maps: torch.Tensor, masks: torch.Tensor, tolerance_px: float = 0) -> torch.Tensor:
    """Same as ``pointing_game`` (the name the image recipe uses)."""
    return pointing_game(maps, masks, tolerance_px)


def coarse_map_pointing(masks: torch.Tensor, cells: tuple[int, int] | int,
                        interpolation: str = "bicubic") -> torch.Tensor:
    """Pointing hits of the best map a ``cells`` feature map can give: each cell holds the share of its
    area the mask covers (a perfect explainer at that resolution), upsampled to the mask size as the SE
    maps are. Its hit rate is the ceiling of any explainer reading a map of that size.

    masks (B, [T,] H, W) bool -> hits bool (B,) or (B, T). ``cells``: (h, w) or one int for both.
    """
    if masks.dim() < 3:
        raise ValueError(f"masks must be (B, H, W) or (B, T, H, W), got {tuple(masks.shape)}")
    if interpolation not in ("bicubic", "bilinear", "nearest"):
        raise ValueError(f"interpolation must be bicubic, bilinear or nearest, got {interpolation!r}")
    size = tuple(masks.shape[-2:])
    planes = masks.reshape(-1, 1, *size).float()
    coarse = F.adaptive_avg_pool2d(planes, cells)
    kwargs = {} if interpolation == "nearest" else {"align_corners": False}
    maps = F.interpolate(coarse, size=size, mode=interpolation, **kwargs).reshape(masks.shape)
    return pointing_game(maps, masks)


def coarse_map_mass_ratio(region: torch.Tensor, cells: tuple[int, int],
                          interpolation: str = "bilinear", scored: torch.Tensor | None = None) -> float:
    """Mass ratio (mass inside ``region`` / the region's share) of the best attention a ``cells`` map can
    give: each cell holds the share of its area the region covers, upsampled to the region's size as the
    SE maps are, clipped at 0 and scaled to [0, 1]. The ceiling of an explainer reading a map of that size
    (an attention over (F, 4T) spectrogram bins with an audio map of (F', T) cells, say).

    ``scored`` (same shape, default ``region``): the mask the map's mass is scored on instead, e.g. the map
    of every voice scored on one of them.

    region (H, W) bool with at least one True -> float.
    """
    if region.dim() != 2 or not bool(region.any()):
        raise ValueError(f"region must be a non-empty (H, W) mask, got shape {tuple(region.shape)}")
    scored = region if scored is None else scored
    if scored.shape != region.shape or not bool(scored.any()):
        raise ValueError(f"scored must be a non-empty mask of the region's shape {tuple(region.shape)}, "
                         f"got {tuple(scored.shape)}")
    if interpolation not in ("bicubic", "bilinear", "nearest"):
        raise ValueError(f"interpolation must be bicubic, bilinear or nearest, got {interpolation!r}")
    plane = region[None, None].float()
    coarse = F.adaptive_avg_pool2d(plane, cells)
    kwargs = {} if interpolation == "nearest" else {"align_corners": False}
    attention = F.interpolate(coarse, size=tuple(region.shape), mode=interpolation, **kwargs)[0, 0].clamp_min(0)
    spread = float(attention.max() - attention.min())
    if spread < 1e-6:
        return 1.0  # a flat map: its mass share is the area share
    attention = (attention - attention.min()) / spread
    total = float(attention.sum())
    return float(attention[scored].sum()) / total / float(scored.float().mean())
