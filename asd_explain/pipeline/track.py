"""Face tracks from per-frame detections: IoU matching, gap filling, shot changes, smoothing."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.signal import medfilt


@dataclass
class FaceTrack:
    """One person's face over consecutive frames of one shot.

    frames: (n,) int frame indices, consecutive; boxes: (n, 4) float pixel [x1, y1, x2, y2];
    detected: (n,) bool, False where the box was filled in between detections; scores: (n,) float.
    annotated: for tracks read from an AVA CSV, the rows as the file holds them - timestamps_s (n,) and
    normalised boxes (n, 4) float64 - so written scores match the annotation's uids and boxes exactly.
    """

    track_id: int
    frames: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
    scores: np.ndarray
    annotated: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class _Open:
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def last(self) -> np.ndarray:
        return self.boxes[-1]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of (n, 4) and (m, 4) xyxy boxes -> (n, m)."""
    a = np.asarray(a, np.float64)[:, None, :4]
    b = np.asarray(b, np.float64)[None, :, :4]
    w = (np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])).clip(0)
    h = (np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])).clip(0)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


class ShotChangeDetector:
    """Flags a cut when the colour histogram of a frame stops correlating with the previous frame's."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def __call__(self, frame_rgb: np.ndarray) -> bool:
        small = cv2.resize(frame_rgb, (64, 36), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 8, 8], [0, 180, 0, 256, 0, 256])
        hist = cv2.normalize(hist, None).flatten()
        cut = self._previous is not None and cv2.compareHist(self._previous, hist, cv2.HISTCMP_CORREL) < self.threshold
        self._previous = hist
        return bool(cut)


def build_tracks(
    detections: list[np.ndarray],
    shot_starts: set[int] | None = None,
    *,
    iou_threshold: float = 0.3,
    max_gap: int = 12,
    min_detections: int = 3,
    smooth: int = 5,
) -> list[FaceTrack]:
    """Link per-frame detections ((n, 5) pixel boxes + score, one array per frame) into tracks.

    A detection joins the open track whose last box overlaps it most (IoU >= ``iou_threshold``, greedy);
    a track stays open through up to ``max_gap`` frames without detection, and the missing boxes are
    linearly interpolated; tracks never cross a shot start; tracks with fewer than ``min_detections``
    detections are dropped; boxes are median-smoothed over ``smooth`` frames (odd; 1 = off).
    """
    shot_starts = shot_starts or set()
    open_tracks: list[_Open] = []
    finished: list[_Open] = []
    for t, dets in enumerate(detections):
        if t in shot_starts:
            finished += open_tracks
            open_tracks = []
        still_open = []
        for track in open_tracks:
            (finished if t - track.frames[-1] > max_gap else still_open).append(track)
        open_tracks = still_open
        dets = np.asarray(dets, np.float64).reshape(-1, 5)
        unmatched = set(range(len(dets)))
        if open_tracks and len(dets):
            iou = box_iou(np.stack([tr.last for tr in open_tracks]), dets)
            for flat in np.argsort(-iou, axis=None):
                i, j = divmod(int(flat), len(dets))
                if iou[i, j] < iou_threshold:
                    break
                track = open_tracks[i]
                if j in unmatched and track.frames[-1] != t:
                    track.frames.append(t)
                    track.boxes.append(dets[j, :4])
                    track.scores.append(float(dets[j, 4]))
                    unmatched.discard(j)
        for j in sorted(unmatched):
            open_tracks.append(_Open([t], [dets[j, :4]], [float(dets[j, 4])]))
    finished += open_tracks
    kept = [tr for tr in finished if len(tr.frames) >= min_detections]
    kept.sort(key=lambda tr: (tr.frames[0], tr.last[0]))
    return [_fill(tr, i, smooth) for i, tr in enumerate(kept)]


def _fill(track: _Open, track_id: int, smooth: int) -> FaceTrack:
    known = np.asarray(track.frames)
    frames = np.arange(known[0], known[-1] + 1)
    boxes_known = np.stack(track.boxes)
    boxes = np.stack([np.interp(frames, known, boxes_known[:, k]) for k in range(4)], axis=1)
    scores = np.interp(frames, known, np.asarray(track.scores))
    if smooth > 1 and len(frames) >= smooth:
        half = smooth // 2  # medfilt pads with zeros: pad with the edge boxes instead
        padded = np.pad(boxes, ((half, half), (0, 0)), mode="edge")
        boxes = np.stack([medfilt(padded[:, k], smooth)[half:-half] for k in range(4)], axis=1)
    detected = np.isin(frames, known)
    return FaceTrack(track_id, frames, boxes.astype(np.float32), detected, scores.astype(np.float32))
