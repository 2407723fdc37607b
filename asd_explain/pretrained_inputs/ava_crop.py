"""Face crops as the authors of Light-ASD / LR-ASD (and TalkNet) cut them from AVA's annotated boxes.

Their AVA preparation cuts ``frame[int(y1 H):int(y2 H), int(x1 W):int(x2 W)]`` (Python ``int``: both ends
truncated, unlike the store's default window, which rounds the far edges up), saves it as a JPEG, and
their loader reads it back, converts it to grey and resizes it to 112 x 112 with ``cv2.resize`` (bilinear).
Here: the same window (clipped to the frame, at least one pixel), grey (ITU-R 601, as ``cv2.cvtColor``),
bilinear resize. Their intermediate colour JPEG (quality 95) is not reproduced.

``asd-prep ava --face-crop authors`` stores these crops (``settings.face_crop = "authors"`` in the store's
manifest; a store without the key holds the default ``box`` crops).
"""
from __future__ import annotations

import cv2
import numpy as np

FACE_CROP_STYLES = ("box", "authors")


def authors_ava_window(box, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel window ``(x1, y1, x2, y2)`` (end exclusive) of a normalised box, both ends truncated."""
    x1 = min(max(int(box[0] * width), 0), width - 1)
    y1 = min(max(int(box[1] * height), 0), height - 1)
    x2 = min(max(int(box[2] * width), x1 + 1), width)
    y2 = min(max(int(box[3] * height), y1 + 1), height)
    return x1, y1, x2, y2


def authors_ava_crop(frame_rgb: np.ndarray, box, size: tuple[int, int] = (112, 112)) -> np.ndarray:
    """``(H, W, 3)`` RGB frame + normalised box -> ``size = (h, w)`` uint8 grey crop, the authors' AVA way."""
    x1, y1, x2, y2 = authors_ava_window(box, frame_rgb.shape[1], frame_rgb.shape[0])
    grey = cv2.cvtColor(np.ascontiguousarray(frame_rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
