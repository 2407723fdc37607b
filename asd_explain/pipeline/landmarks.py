"""Mouth landmarks on real faces from offline landmark models installed from PyPI (optional extra ``landmarks``).

Two back ends, both working offline from their wheels:

* ``dlib68`` (default): dlib's 68-point shape predictor as shipped by ``face-recognition-models``
  (``shape_predictor_68_face_landmarks.dat``, run with ``dlib-bin``); the mouth is points 48-67 (outer lip
  48-59, inner lip 60-67). The predictor runs on a face box (dlib's HOG detector's, or a track's box).
  Licence: the model file is distributed under terms whose training data (iBUG 300-W) excludes commercial
  use, so the toolkit never needs it: install it only where that is acceptable.
* ``mtcnn``: MTCNN's five points from ``facenet-pytorch`` (weights in the wheel; install with
  ``pip install --no-deps facenet-pytorch==2.6.0`` plus ``requests``, since it pins an old torch): left eye,
  right eye, nose, left and right mouth corner. It detects faces itself (no box input).

``MouthLandmarks.mouth(frame_rgb, box_xyxy | None) -> (k, 2) float64 frame pixel points or None``: 20 lip
points (dlib68) or the 2 mouth corners (mtcnn) of the face overlapping ``box_xyxy`` most (any face when
None). ``detect(frame_rgb) -> list[(box (4,), points (k, 2))]`` finds every face (HOG or MTCNN).
Choice and measurements: docs/pretrained.md ("Mouth landmarks", ``benchmarks/mouth_landmarks.py``).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from .track import box_iou

DLIB_MOUTH = slice(48, 68)
MTCNN_MOUTH = slice(3, 5)
LANDMARK_MODELS = ("dlib68", "mtcnn")


class LandmarksUnavailable(RuntimeError):
    """The optional landmark package is not installed."""


class MouthLandmarks(Protocol):
    name: str

    def detect(self, frame_rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def mouth(self, frame_rgb: np.ndarray, box_xyxy: np.ndarray | None = None) -> np.ndarray | None: ...


class Dlib68Mouth:
    """dlib's 68-point predictor; faces from dlib's HOG detector unless a box is given."""

    name = "dlib68"

    def __init__(self, upsample: int = 0) -> None:
        try:
            import dlib
            import face_recognition_models
        except ImportError as err:
            raise LandmarksUnavailable(
                f"dlib68 landmarks need dlib-bin and face-recognition-models==0.3.0 ({err}); "
                "pip install 'asd-explain[landmarks]'") from None
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
        self._detector = dlib.get_frontal_face_detector()
        self.upsample = upsample

    def points(self, frame_rgb: np.ndarray, box_xyxy) -> np.ndarray:
        """All 68 points ``(68, 2)`` for the face in ``box_xyxy`` (pixels)."""
        x1, y1, x2, y2 = (int(round(float(v))) for v in box_xyxy[:4])
        shape = self._predictor(np.ascontiguousarray(frame_rgb), self._dlib.rectangle(x1, y1, x2, y2))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)

    def detect(self, frame_rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        rects = self._detector(np.ascontiguousarray(frame_rgb), self.upsample)
        out = []
        for r in rects:
            box = np.array([r.left(), r.top(), r.right(), r.bottom()], np.float64)
            out.append((box, self.points(frame_rgb, box)[DLIB_MOUTH]))
        return out

    def mouth(self, frame_rgb: np.ndarray, box_xyxy: np.ndarray | None = None) -> np.ndarray | None:
        if box_xyxy is not None:
            return self.points(frame_rgb, box_xyxy)[DLIB_MOUTH]
        found = self.detect(frame_rgb)
        return found[0][1] if found else None


class MtcnnMouth:
    """MTCNN (facenet-pytorch) five points; the mouth is the two corners."""

    name = "mtcnn"

    def __init__(self, device: str = "cpu", min_face_px: int = 40) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise LandmarksUnavailable(
                f"mtcnn landmarks need facenet-pytorch==2.6.0 (pip install --no-deps) and requests ({err})"
            ) from None
        self._mtcnn = MTCNN(keep_all=True, device=device, min_face_size=min_face_px)

    def detect(self, frame_rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        boxes, _, points = self._mtcnn.detect(np.ascontiguousarray(frame_rgb), landmarks=True)
        if boxes is None:
            return []
        return [(np.asarray(b, np.float64), np.asarray(p, np.float64)[MTCNN_MOUTH]) for b, p in zip(boxes, points)]

    def mouth(self, frame_rgb: np.ndarray, box_xyxy: np.ndarray | None = None) -> np.ndarray | None:
        found = self.detect(frame_rgb)
        if not found:
            return None
        if box_xyxy is None:
            return found[0][1]
        overlap = box_iou(np.asarray(box_xyxy, np.float64)[None, :4], np.stack([b for b, _ in found]))[0]
        best = int(np.argmax(overlap))
        return found[best][1] if overlap[best] > 0 else None


def make_landmarks(name: str = "dlib68", **kwargs) -> MouthLandmarks:
    """A landmark back end by name (``dlib68`` or ``mtcnn``); a missing package is a one-line error."""
    if name == "dlib68":
        return Dlib68Mouth(**kwargs)
    if name == "mtcnn":
        return MtcnnMouth(**kwargs)
    raise ValueError(f"unknown landmark model {name!r} (valid: {', '.join(LANDMARK_MODELS)})")


def track_mouth_points(frames, frame_indices: np.ndarray, boxes: np.ndarray, landmarks: MouthLandmarks, *,
                       progress: bool = False) -> np.ndarray:
    """Mouth points of one face track: ``frames`` (a reader with ``iter_frames``, e.g. ``Frames25``),
    ``frame_indices (T,)`` sorted, ``boxes (T, 4)`` pixel boxes -> ``(T, k, 2)`` frame pixels, NaN where the
    model found no face (k = 20 for dlib68, 2 for mtcnn)."""
    from tqdm import tqdm

    k = 20 if landmarks.name == "dlib68" else 2
    out = np.full((len(frame_indices), k, 2), np.nan)
    position = {int(f): i for i, f in enumerate(frame_indices)}
    for index, frame in tqdm(frames.iter_frames(np.asarray(frame_indices)), total=len(frame_indices),
                             desc=f"mouth landmarks ({landmarks.name})", unit="frame", disable=not progress):
        if frame is None:
            continue
        points = landmarks.mouth(frame, boxes[position[index]])
        if points is not None:
            out[position[index]] = points
    return out
