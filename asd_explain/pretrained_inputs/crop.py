"""The authors' face crop for videos in the wild (their Columbia demo, crop scale 0.40), and its geometry.

Per track, from pixel boxes ``[x1, y1, x2, y2]`` on consecutive frames:

1. half-size ``s = max(x2 - x1, y2 - y1) / 2`` and centre ``x = (x1 + x2) / 2``, ``y = (y1 + y2) / 2``;
   each of the three series is smoothed by ``scipy.signal.medfilt(series, 13)``: a running median of 13
   frames whose window is filled with ZEROS past either end of the track (so the first and last 6 frames
   are pulled towards smaller values; in a track of fewer than 7 frames every window holds at least 7
   zeros, so all values become 0: the authors keep tracks of >= 10 frames).
2. each frame is padded on all four sides by ``p = int(s * (1 + 2 c))`` pixels of value 110 (``c`` = crop
   scale 0.40, so ``p = int(1.8 s)``, truncated), which keeps the window inside the padded image;
3. the window is rows ``[int(y + p - s), int(y + p + s (1 + 2 c)))`` and columns
   ``[int(x + p - s (1 + c)), int(x + p + s (1 + c)))`` of the padded image (Python ``int`` truncation,
   NumPy slicing, so a window running past the padded image's far edge is cut there), i.e. rows
   ``y - s .. y + 1.8 s`` and columns ``x - 1.4 s .. x + 1.4 s`` of the frame: 2.8 s square;
4. the window (colour) is resized to 224 x 224 by ``cv2.resize`` (bilinear), converted to grey (ITU-R 601,
   ``cv2.cvtColor``), and the centre 112 x 112 (rows and columns 56..167) is kept: the frame's rows
   ``y - 0.3 s .. y + 1.1 s`` and columns ``x - 0.7 s .. x + 0.7 s``, a 1.4 s square centred 0.4 s below the
   box centre (mouth and nose, not the forehead).

Their demo writes the 224 px crops to an XVID ``.avi`` and reads them back; that lossy round trip is not
reproduced here (it changes pixel values by a few grey levels, not the geometry).

``CropWindows`` holds the windows in frame pixels and maps frame points into 112 px crop coordinates
through the same transform (bilinear resize maps window pixel ``u`` to ``(u + 0.5) * 224 / width - 0.5``).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.signal import medfilt

AUTHORS_CROP_SCALE = 0.40
AUTHORS_MEDIAN_FRAMES = 13
AUTHORS_PAD_VALUE = 110
RESIZE_PX = 224
KEEP_PX = 112


@dataclass
class CropWindows:
    """Per-frame crop windows of one track, in frame pixels (end exclusive, may reach past the frame).

    windows: (T, 4) int64 ``[x0, y0, x1, y1]``; half_size / centre_x / centre_y: (T,) smoothed box values.
    """

    windows: np.ndarray
    half_size: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    resize_px: int = RESIZE_PX
    keep_px: int = KEEP_PX

    def frame_to_crop(self, points_xy: np.ndarray) -> np.ndarray:
        """``(T, n, 2)`` frame pixel points (x, y) -> ``(T, n, 2)`` coordinates in the kept 112 px crop."""
        points = np.asarray(points_xy, np.float64)
        origin = self.windows[:, None, :2].astype(np.float64)
        size = (self.windows[:, None, 2:] - self.windows[:, None, :2]).astype(np.float64)
        resized = (points - origin + 0.5) * self.resize_px / size - 0.5
        return resized - (self.resize_px - self.keep_px) / 2

    def crop_to_frame(self, points_xy: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`frame_to_crop`: ``(T, n, 2)`` crop points -> frame pixel points."""
        points = np.asarray(points_xy, np.float64) + (self.resize_px - self.keep_px) / 2
        origin = self.windows[:, None, :2].astype(np.float64)
        size = (self.windows[:, None, 2:] - self.windows[:, None, :2]).astype(np.float64)
        return (points + 0.5) * size / self.resize_px - 0.5 + origin


def smoothed_box_params(boxes: np.ndarray, median_frames: int = AUTHORS_MEDIAN_FRAMES
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(T, 4)`` pixel boxes -> smoothed ``(half_size, centre_x, centre_y)``, each ``(T,)`` float64."""
    boxes = np.asarray(boxes, np.float64)
    size = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    if median_frames > 1:
        size, centre_x, centre_y = (medfilt(v, median_frames) for v in (size, centre_x, centre_y))
    return size, centre_x, centre_y


def crop_windows(boxes: np.ndarray, frame_hw: tuple[int, int], crop_scale: float = AUTHORS_CROP_SCALE,
                 median_frames: int = AUTHORS_MEDIAN_FRAMES) -> CropWindows:
    """The authors' windows for a track's ``(T, 4)`` boxes on ``frame_hw = (H, W)`` frames."""
    height, width = frame_hw
    size, cx, cy = smoothed_box_params(boxes, median_frames)
    out = np.empty((len(size), 4), np.int64)
    for t, (s, x, y) in enumerate(zip(size.tolist(), cx.tolist(), cy.tolist())):
        pad = int(s * (1 + 2 * crop_scale))
        rows = _slice_bounds(int(y + pad - s), int(y + pad + s * (1 + 2 * crop_scale)), height + 2 * pad)
        cols = _slice_bounds(int(x + pad - s * (1 + crop_scale)), int(x + pad + s * (1 + crop_scale)),
                             width + 2 * pad)
        out[t] = (cols[0] - pad, rows[0] - pad, cols[1] - pad, rows[1] - pad)
    return CropWindows(out, size, cx, cy)


def _slice_bounds(start: int, stop: int, length: int) -> tuple[int, int]:
    """Where ``a[start:stop]`` lands in an axis of ``length`` (Python slice rules; empty -> one pixel)."""
    lo, hi, _ = slice(start, stop).indices(length)
    return (lo, hi) if hi > lo else (min(lo, length - 1), min(lo, length - 1) + 1)


def cut_window(frame: np.ndarray, window, pad_value: int = AUTHORS_PAD_VALUE) -> np.ndarray:
    """The frame's pixels under ``window = (x0, y0, x1, y1)``, ``pad_value`` where it leaves the frame."""
    x0, y0, x1, y1 = (int(v) for v in window)
    height, width = frame.shape[:2]
    out = np.full((y1 - y0, x1 - x0, *frame.shape[2:]), pad_value, frame.dtype)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if fx1 > fx0 and fy1 > fy0:
        out[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] = frame[fy0:fy1, fx0:fx1]
    return out


def authors_face_crop(frame_rgb: np.ndarray, window, resize_px: int = RESIZE_PX,
                      keep_px: int = KEEP_PX) -> np.ndarray:
    """``(H, W, 3)`` RGB frame + one window -> ``(keep_px, keep_px)`` uint8 grey crop (resize, grey, centre)."""
    face = cv2.resize(cut_window(frame_rgb, window), (resize_px, resize_px), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY) if face.ndim == 3 else face
    lo = (resize_px - keep_px) // 2
    return grey[lo:lo + keep_px, lo:lo + keep_px]
