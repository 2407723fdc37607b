"""Drawing explanations: heatmap overlays and labelled PNG grids."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from ..atomic import atomic_write

TITLE_HEIGHT = 18
LABEL_WIDTH = 90


def heatmap_colours(map_hw: np.ndarray | torch.Tensor, colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 RGB colours."""
    values = _as_numpy(map_hw).astype(np.float32)
    scaled = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, colormap), cv2.COLOR_BGR2RGB)


def overlay_heatmap(image: np.ndarray, map_hw: np.ndarray | torch.Tensor, alpha: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] heatmap over an (H, W, 3) uint8 RGB image (the map is resized to the image)."""
    values = _as_numpy(map_hw).astype(np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if values.shape != image.shape[:2]:
        values = cv2.resize(values, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    colours = heatmap_colours(np.clip(values, 0, 1))
    return np.clip((1 - alpha) * image.astype(np.float32) + alpha * colours, 0, 255).astype(np.uint8)


def draw_mask_outline(image: np.ndarray, mask: np.ndarray, colour=(255, 255, 255)) -> np.ndarray:
    """Draw the outline of a bool mask on a copy of an RGB image."""
    out = image.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, 1, cv2.LINE_AA)
    return out


def save_grid(
    path: str | Path,
    rows: Sequence[Sequence[np.ndarray]],
    row_titles: Sequence[str] | None = None,
    col_titles: Sequence[str] | None = None,
    pad: int = 2,
) -> Path:
    """Write a PNG grid of equally sized (H, W, 3) uint8 RGB tiles with optional row/column titles."""
    if not rows or not rows[0]:
        raise ValueError("save_grid needs at least one tile")
    h, w = rows[0][0].shape[:2]
    n_cols = max(len(r) for r in rows)
    top = TITLE_HEIGHT if col_titles else 0
    left = LABEL_WIDTH if row_titles else 0
    canvas = np.full((top + len(rows) * (h + pad) + pad, left + n_cols * (w + pad) + pad, 3), 255, np.uint8)
    for j, title in enumerate(col_titles or []):
        _text(canvas, title, (left + pad + j * (w + pad), top - 5), max_width=w)
    for i, row in enumerate(rows):
        y = top + pad + i * (h + pad)
        if row_titles:
            _text(canvas, row_titles[i], (3, y + h // 2 + 4), max_width=LABEL_WIDTH - 4)
        for j, tile in enumerate(row):
            if tile.shape[:2] != (h, w):
                tile = cv2.resize(tile, (w, h), interpolation=cv2.INTER_AREA)
            x = left + pad + j * (w + pad)
            canvas[y:y + h, x:x + w] = tile if tile.ndim == 3 else tile[..., None]
    return write_png(path, canvas)


def write_png(path: str | Path, image_rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 RGB image as a PNG atomically (temp name, then rename)."""
    path = Path(path)
    ok, data = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: could not encode PNG")
    with atomic_write(path, "wb") as handle:
        handle.write(data.tobytes())
    return path


def _text(canvas: np.ndarray, text: str, origin: tuple[int, int], max_width: int) -> None:
    scale = 0.4
    while scale > 0.25 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > max_width:
        scale -= 0.05
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)


def _as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
