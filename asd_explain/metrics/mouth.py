"""Mouth regions in face-crop coordinates, and pointing: is a heatmap's maximum on the mouth?

Mouth region of one frame = the bounding box of the mouth landmarks grown by half its height on every side.
Landmarks (frame pixels) are first mapped into the crop's coordinates through the crop's own transform
(``CropWindows.frame_to_crop`` for the authors' 112 px crop), then boxed and grown there.

* dlib 68 points: the box of points 48-67 (outer and inner lip).
* MTCNN's two mouth corners: the box spans the corners horizontally; its height is
  ``MTCNN_MOUTH_HEIGHT_OVER_WIDTH`` (0.47) times the corner distance, centred on the corners' midpoint.
  0.47 is the mean height / corner width of dlib's outer-lip box on the two real clips (0.50 and 0.44;
  its centre sits within 0.03 widths of the corners' midpoint): ``benchmarks/mouth_landmarks.py``.

Coordinates: ``(x, y)`` with pixel ``(col, row)`` centred at ``(col, row)``; a region ``[x0, y0, x1, y1]``
contains a pixel when its centre lies inside (edges included). Frames without landmarks have NaN regions:
they never count as hits and ``valid`` says which frames count.
"""
from __future__ import annotations

import numpy as np
import torch

from .pointing import pointing_game

MTCNN_MOUTH_HEIGHT_OVER_WIDTH = 0.47


def landmark_box(points_xy: np.ndarray, kind: str = "dlib68") -> np.ndarray:
    """``(T, k, 2)`` mouth points (NaN rows = none) -> ``(T, 4)`` ``[x0, y0, x1, y1]`` mouth box."""
    points = np.asarray(points_xy, np.float64)
    if kind == "dlib68":
        with np.errstate(invalid="ignore"):
            return np.concatenate([points.min(1), points.max(1)], axis=1)
    if kind == "mtcnn":
        if points.shape[1] != 2:
            raise ValueError(f"mtcnn mouth points must be the 2 corners, got {points.shape[1]} points")
        centre = points.mean(1)
        half = MTCNN_MOUTH_HEIGHT_OVER_WIDTH * np.linalg.norm(points[:, 1] - points[:, 0], axis=1) / 2
        x0, x1 = points[:, :, 0].min(1), points[:, :, 0].max(1)
        return np.stack([x0, centre[:, 1] - half, x1, centre[:, 1] + half], axis=1)
    raise ValueError(f"unknown landmark kind {kind!r} (expected dlib68 or mtcnn)")


def grow_by_half_height(boxes: np.ndarray) -> np.ndarray:
    """``(T, 4)`` boxes grown by half their height on every side."""
    boxes = np.asarray(boxes, np.float64)
    grow = (boxes[:, 3] - boxes[:, 1])[:, None] / 2
    return boxes + np.concatenate([-grow, -grow, grow, grow], axis=1)


def mouth_regions(points_frame_xy: np.ndarray, crop, kind: str = "dlib68") -> np.ndarray:
    """Mouth regions in crop coordinates: ``(T, k, 2)`` frame-pixel landmarks + the track's crop transform
    (anything with ``frame_to_crop((T, k, 2)) -> (T, k, 2)``, e.g. ``CropWindows``) -> ``(T, 4)``."""
    return grow_by_half_height(landmark_box(crop.frame_to_crop(points_frame_xy), kind))


def region_masks(regions: np.ndarray, size_px: int = 112) -> torch.Tensor:
    """``(T, 4)`` regions -> ``(T, size_px, size_px)`` bool masks (pixel centres inside; NaN -> empty)."""
    return region_masks_hw(regions, size_px, size_px)


def mouth_pointing(heatmaps: torch.Tensor | np.ndarray, regions: np.ndarray, crop_px: int = 112
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Is each frame's heatmap maximum inside its mouth region?

    heatmaps ``(T, H, W)`` over the crop (any H, W: the peak cell's centre is mapped to ``crop_px``
    coordinates, ``(i + 0.5) * crop_px / W - 0.5``); regions ``(T, 4)`` in crop coordinates.
    Returns ``(hits (T,) bool, valid (T,) bool)``; frames whose region is NaN are not valid and not hits.
    """
    maps = torch.as_tensor(heatmaps).float()
    if maps.dim() != 3 or maps.shape[0] != len(regions):
        raise ValueError(f"heatmaps must be (T, H, W) with T = {len(regions)} regions, got {tuple(maps.shape)}")
    height, width = maps.shape[-2:]
    scaled = np.asarray(regions, np.float64).copy()
    scaled[:, [0, 2]] = (scaled[:, [0, 2]] + 0.5) * width / crop_px - 0.5  # region into heatmap cells
    scaled[:, [1, 3]] = (scaled[:, [1, 3]] + 0.5) * height / crop_px - 0.5
    masks = region_masks_hw(scaled, height, width)
    hits = pointing_game(maps[None], masks[None])[0].numpy()
    valid = np.isfinite(np.asarray(regions, np.float64)).all(1)
    return hits & valid, valid


def region_masks_hw(regions: np.ndarray, height: int, width: int) -> torch.Tensor:
    """Like :func:`region_masks` for a ``height x width`` grid."""
    regions = torch.as_tensor(np.asarray(regions, np.float64))
    x0, y0, x1, y1 = (regions[:, i, None] for i in range(4))
    cols_grid = torch.arange(width, dtype=torch.float64)[None]
    rows_grid = torch.arange(height, dtype=torch.float64)[None]
    cols = (cols_grid >= x0) & (cols_grid <= x1)
    rows = (rows_grid >= y0) & (rows_grid <= y1)
    return rows[:, :, None] & cols[:, None, :]
