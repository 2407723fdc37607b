"""Face and body crops: normalised boxes -> pixel windows -> resized grey or RGB crops.

Pixel window of a normalised box ``(x1, y1, x2, y2)`` on a ``W x H`` frame:
``[floor(x1 W), ceil(x2 W)) x [floor(y1 H), ceil(y2 H))``, clipped to the frame and at least 1 pixel wide
and tall. A crop is that window, converted to grey (OpenCV's ITU-R 601 weights) when asked, then resized to
the target size: ``linear`` (default) is OpenCV's bilinear ``cv2.resize``, as TalkNet / Light-ASD / BIAS
resize their crops; ``area`` averages the pixels under each output pixel when the window shrinks in both
directions (anti-aliased, ~5-20x slower on big body windows) and is bilinear otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

COLOURS = ("gray", "rgb")
INTERPOLATIONS = ("linear", "area")


@dataclass(frozen=True)
class BodyFromFace:
    """Body box derived from a face box (AVA has face boxes only), in units of the face box.

    The body box is ``width_faces`` face widths wide, centred on the face; it starts ``above_faces`` face
    heights above the face's top edge and is ``height_faces`` face heights tall; then it is clipped to the
    frame. Defaults: 3 face widths by 6 face heights starting a quarter face above the head, which covers
    head, shoulders and torso of an upright person.
    """

    width_faces: float = 3.0
    height_faces: float = 6.0
    above_faces: float = 0.25

    def boxes(self, face_boxes: np.ndarray) -> np.ndarray:
        """``(n, 4)`` normalised face boxes -> ``(n, 4)`` normalised body boxes, clipped to [0, 1]."""
        face = np.asarray(face_boxes, dtype=np.float64)
        width = face[:, 2] - face[:, 0]
        height = face[:, 3] - face[:, 1]
        centre = (face[:, 0] + face[:, 2]) / 2
        top = face[:, 1] - self.above_faces * height
        body = np.stack([centre - self.width_faces * width / 2, top,
                         centre + self.width_faces * width / 2, top + self.height_faces * height], axis=1)
        return np.clip(body, 0.0, 1.0)


def pixel_window(box, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel window ``(x1, y1, x2, y2)`` (end exclusive) of a normalised box on a ``width x height`` frame."""
    x1 = min(max(int(math.floor(box[0] * width)), 0), width - 1)
    y1 = min(max(int(math.floor(box[1] * height)), 0), height - 1)
    x2 = min(max(int(math.ceil(box[2] * width)), x1 + 1), width)
    y2 = min(max(int(math.ceil(box[3] * height)), y1 + 1), height)
    return x1, y1, x2, y2


def _resize(window: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    out_h, out_w = size
    shrinks = window.shape[0] >= out_h and window.shape[1] >= out_w
    flag = cv2.INTER_AREA if interpolation == "area" and shrinks else cv2.INTER_LINEAR
    return cv2.resize(window, (out_w, out_h), interpolation=flag)


def crop_resize(frame: np.ndarray, box, size: tuple[int, int], colour: str = "gray",
                interpolation: str = "linear") -> np.ndarray:
    """One crop of an ``(H, W, 3)`` RGB frame: ``(h, w)`` grey or ``(h, w, 3)`` RGB uint8, ``size = (h, w)``."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = pixel_window(box, width, height)
    window = frame[y1:y2, x1:x2]
    if colour == "gray":
        window = cv2.cvtColor(window, cv2.COLOR_RGB2GRAY)
    elif colour != "rgb":
        raise ValueError(f"unknown colour {colour!r} (expected one of {', '.join(COLOURS)})")
    return _resize(window, size, interpolation)


class FrameCrops:
    """Many crops of one frame, same result as :func:`crop_resize`; the grey frame is converted once (the
    conversion is per pixel, so converting the frame or the window gives the same pixels)."""

    def __init__(self, frame: np.ndarray, interpolation: str = "linear") -> None:
        self.frame = frame
        self.interpolation = interpolation
        self._grey: np.ndarray | None = None

    def crop(self, box, size: tuple[int, int], colour: str = "gray") -> np.ndarray:
        if colour == "gray":
            if self._grey is None:
                self._grey = cv2.cvtColor(self.frame, cv2.COLOR_RGB2GRAY)
            source = self._grey
        elif colour == "rgb":
            source = self.frame
        else:
            raise ValueError(f"unknown colour {colour!r} (expected one of {', '.join(COLOURS)})")
        x1, y1, x2, y2 = pixel_window(box, self.frame.shape[1], self.frame.shape[0])
        return _resize(source[y1:y2, x1:x2], size, self.interpolation)
