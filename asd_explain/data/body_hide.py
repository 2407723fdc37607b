"""Body crops without the head: the face box's region of each body crop set to the normalisation mean.

The body crop of a synthetic or AVA track spans the head, so a body stream sees the mouth as well as the
gestures and the fusion needs only one of the two visual streams (docs/measure.md, "Why the explanation
recipe shuts a visual stream out"). ``data.body_hide_face`` blanks the head inside the body crop, so the
body carries the gestures and the face alone carries the mouth.

Mapping (as the crop was cut, :mod:`asd_explain.media.crops`): the body crop is the pixel window
``[floor(x1 W), ceil(x2 W)) x [floor(y1 H), ceil(y2 H))`` of a ``W x H`` frame resized to ``w x h``; the face
box, grown by ``margin`` face widths / heights on each side, is cut to its pixel window the same way and
mapped into the crop by the same scale, ``x_crop = (x_frame - body_x1) * w / body_width``, rounded
outwards (every crop pixel that touches the face window is hidden) and clipped to the crop. Without the
frame size the same mapping runs on the normalised coordinates (no pixel rounding).
"""
from __future__ import annotations

import math

import numpy as np

from ..constants import GREY_MEAN, IMAGENET_MEAN
from ..media.crops import pixel_window


def face_window_in_body(face_box, body_box, crop_size: tuple[int, int], frame_size: tuple[int, int] | None = None,
                        margin: float = 0.0) -> tuple[int, int, int, int]:
    """``(x1, y1, x2, y2)`` crop pixels (end exclusive, maybe empty) of ``face_box`` inside the body crop cut
    at ``body_box`` (both normalised x1, y1, x2, y2); ``crop_size = (h, w)``, ``frame_size = (H, W)``."""
    face = np.asarray(face_box, dtype=np.float64)
    grow_x, grow_y = margin * (face[2] - face[0]), margin * (face[3] - face[1])
    face = face + np.array([-grow_x, -grow_y, grow_x, grow_y])
    if frame_size is not None:
        height, width = int(frame_size[0]), int(frame_size[1])
        fx1, fy1, fx2, fy2 = pixel_window(np.clip(face, 0.0, 1.0), width, height)
        bx1, by1, bx2, by2 = pixel_window(body_box, width, height)
    else:
        fx1, fy1, fx2, fy2 = face.tolist()
        bx1, by1, bx2, by2 = (float(v) for v in body_box)
    out_h, out_w = crop_size
    scale_x, scale_y = out_w / max(bx2 - bx1, 1e-12), out_h / max(by2 - by1, 1e-12)
    x1 = min(max(math.floor((fx1 - bx1) * scale_x + 1e-9), 0), out_w)
    y1 = min(max(math.floor((fy1 - by1) * scale_y + 1e-9), 0), out_h)
    x2 = min(max(math.ceil((fx2 - bx1) * scale_x - 1e-9), x1), out_w)
    y2 = min(max(math.ceil((fy2 - by1) * scale_y - 1e-9), y1), out_h)
    return x1, y1, x2, y2


def mean_fill(channels: int, grey_mean: float = GREY_MEAN) -> np.ndarray:
    """The uint8 value nearest the normalisation mean: ``(1,)`` grey or ``(3,)`` RGB (ImageNet)."""
    mean = [grey_mean] if channels == 1 else list(IMAGENET_MEAN)
    return np.clip(np.round(np.asarray(mean) * 255.0), 0, 255).astype(np.uint8)


def hide_face_in_body(body: np.ndarray, face_boxes: np.ndarray, body_boxes: np.ndarray,
                      frame_size: tuple[int, int] | None = None, margin: float = 0.0,
                      grey_mean: float = GREY_MEAN) -> np.ndarray:
    """A copy of ``body (T, h, w[, 3]) uint8`` whose face region (per frame, ``face_boxes`` / ``body_boxes``
    ``(T, 4)`` normalised) is at the normalisation mean (:func:`mean_fill`); the other pixels unchanged."""
    face_boxes, body_boxes = np.asarray(face_boxes), np.asarray(body_boxes)
    if len(face_boxes) != len(body) or len(body_boxes) != len(body):
        raise ValueError(f"hide face in body: {len(body)} body crops but {len(face_boxes)} face boxes and "
                         f"{len(body_boxes)} body boxes")
    out = np.array(body, dtype=np.uint8, copy=True)
    fill = mean_fill(3 if out.ndim == 4 else 1, grey_mean)
    crop_size = (out.shape[1], out.shape[2])
    for t in range(len(out)):
        x1, y1, x2, y2 = face_window_in_body(face_boxes[t], body_boxes[t], crop_size, frame_size, margin)
        out[t, y1:y2, x1:x2] = fill if out.ndim == 4 else fill[0]
    return out

