"""Draw the explained video: boxes coloured by score, face/body heatmaps, a spectrogram strip with the
audio attention of the most likely speaker and a moving cursor; the original soundtrack is kept."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..explain.render import heatmap_colours
from .inputs import TrackInputs
from .video_writer import Mp4Writer

COLUMNS_PER_S = 100  # spectrogram strip resolution


@dataclass
class TrackResult:
    """Scores and explanations of one track. maps are per frame at crop resolution, in [0, 1];
    audio_attention (F, 4T) over the track's feature frames; shares {modality: (T,)}; importance
    {kind: {modality: (T,)}} (``explain.importance``)."""

    inputs: TrackInputs
    scores: np.ndarray
    face_maps: np.ndarray | None = None
    body_maps: np.ndarray | None = None
    audio_attention: np.ndarray | None = None
    shares: dict[str, np.ndarray] | None = None
    importance: dict[str, dict[str, np.ndarray]] | None = None


def score_colour(score: float) -> tuple[int, int, int]:
    """RGB: red (0) -> yellow (0.5) -> green (1)."""
    s = float(np.clip(score, 0, 1))
    return (int(255 * min(1, 2 * (1 - s))), int(255 * min(1, 2 * s)), 0)


def blend_into_box(frame: np.ndarray, box_px: np.ndarray, heatmap: np.ndarray, alpha: float) -> None:
    """Blend a [0, 1] map (or a ``heatmap_levels`` uint8 map), resized to the box, into ``frame`` in place
    (box clipped to the frame)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = np.round(box_px).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return
    levels = heatmap if heatmap.dtype == np.uint8 else heatmap_levels(heatmap)
    colours = cv2.applyColorMap(cv2.resize(levels, (x2 - x1, y2 - y1), interpolation=cv2.INTER_CUBIC), _rgb_jet())
    frame[y1:y2, x1:x2] = cv2.addWeighted(frame[y1:y2, x1:x2], 1 - alpha, colours, alpha, 0.0)


def heatmap_levels(maps: np.ndarray) -> np.ndarray:
    """[0, 1] maps (any shape) -> uint8 colour-map levels 0..255 (done once per track, not per frame)."""
    return np.clip(np.asarray(maps, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _rgb_jet() -> np.ndarray:
    """OpenCV's JET colour map as a (256, 1, 3) RGB table, for ``cv2.applyColorMap(levels, table)``."""
    return np.ascontiguousarray(cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[..., ::-1])


class SpectrogramStrip:
    """The whole soundtrack as a log-mel image (F x columns at 100 per second) plus the attention of the
    most likely speaker at each column; ``render(t)`` returns the strip window centred on time t.

    The coloured picture of the whole soundtrack is made once; each frame only cuts its window out of it.
    """

    def __init__(self, logmel: np.ndarray, results: list[TrackResult], fps: float, width: int, height: int,
                 window_s: float = 4.0, origin_s: float = 0.0) -> None:
        self.width, self.height, self.window_s = width, height, window_s
        spec = logmel.T[::-1]  # (F, columns), low frequencies at the bottom
        lo, hi = np.percentile(spec, [2, 99.5]) if spec.size else (0, 1)
        self.grey = ((spec - lo) / max(hi - lo, 1e-6)).clip(0, 1)
        self.attention = np.zeros_like(self.grey)
        best = np.full(self.grey.shape[1], -1.0)
        for result in results:
            if result.audio_attention is None:
                continue
            att = result.audio_attention[::-1]  # (F, 4T)
            times = _feature_times(result.inputs.timestamps_s, fps) - origin_s
            cols = np.clip(np.round(times * COLUMNS_PER_S).astype(int), 0, self.grey.shape[1] - 1)
            score = np.repeat(result.scores, 4)
            take = score > best[cols]
            best[cols[take]] = score[take]
            self.attention[:, cols[take]] = att[:, take]
        image = np.repeat((self.grey * 200).astype(np.uint8)[..., None], 3, axis=2)
        mask = (self.attention > 0.05)[..., None]
        self.picture = np.where(mask, (0.45 * image + 0.55 * heatmap_colours(self.attention)).astype(np.uint8), image)

    def render(self, time_s: float, label: str = "") -> np.ndarray:
        half = int(self.window_s * COLUMNS_PER_S / 2)
        centre = int(round(time_s * COLUMNS_PER_S))
        cols = np.clip(np.arange(centre - half, centre + half), 0, self.grey.shape[1] - 1)
        image = cv2.resize(self.picture[:, cols], (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        cv2.line(image, (self.width // 2, 0), (self.width // 2, self.height), (255, 255, 255), 1)
        if label:
            cv2.putText(image, label, (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
        return image


def _feature_times(timestamps_s: np.ndarray, fps: float) -> np.ndarray:
    """Times (s, on the video timeline) of the 4 audio feature frames of each video frame."""
    offsets = (np.arange(4) + 0.5) / (4 * fps) - 0.5 / fps
    return (timestamps_s[:, None] + offsets[None, :]).reshape(-1)


def render_video(frames, results: list[TrackResult], out_path: str | Path, *, fps: Fraction,
                 logmel: np.ndarray, audio: tuple[np.ndarray, int] | None, notice: str = "",
                 strip_height: int | None = None, progress: bool = True, preset: str = "superfast",
                 crf: int = 23, origin_s: float = 0.0) -> Path:
    """Decode the video once more and write the explained MP4 (same frame count and rate; x264 ``preset``
    and ``crf``); ``logmel`` and ``audio`` start at ``origin_s`` (a time range's first frame, else 0)."""
    width, height = frames.width - frames.width % 2, frames.height - frames.height % 2
    strip_h = strip_height or max(48, (height // 5) // 2 * 2)
    strip = SpectrogramStrip(logmel, results, frames.fps, width, strip_h, origin_s=origin_s)
    at_frame: dict[int, list[tuple[_Drawing, int]]] = {}
    for result in results:
        drawing = _Drawing(result, width, height)
        for pos, index in enumerate(result.inputs.frames.tolist()):
            at_frame.setdefault(index, []).append((drawing, pos))
    n = len(frames)
    out = np.zeros((height + strip_h, width, 3), np.uint8)
    canvas = out[:height]  # a contiguous view: the video picture is drawn in place, the strip goes below it
    previous = np.zeros((height, width, 3), np.uint8)
    with Mp4Writer(out_path, fps, width, height + strip_h, audio=audio, crf=crf, preset=preset) as writer:
        for index, frame in tqdm(frames.iter_frames(np.arange(n)), total=n, desc="render video", unit="frame",
                                 disable=not progress):
            if frame is not None:
                previous = frame[:height, :width]  # a fresh array per decoded frame, never drawn on
            canvas[:] = previous
            label = _draw_tracks(canvas, at_frame.get(index, []))
            if notice:
                cv2.putText(canvas, notice, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 60, 60), 1, cv2.LINE_AA)
            out[height:] = strip.render(float(frames.frame_times_s[index]) - origin_s, label)
            writer.write(out)
    return Path(out_path)


class _Drawing:
    """What is drawn for one track, made once: pixel boxes, heatmaps as colour-map levels, labels."""

    def __init__(self, result: TrackResult, width: int, height: int) -> None:
        inputs = result.inputs
        scale = np.array([width, height, width, height], np.float64)
        self.result = result
        self.face_px = inputs.face_boxes * scale
        self.body_px = inputs.body_boxes * scale if inputs.body_boxes is not None else None
        self.face_levels = heatmap_levels(result.face_maps) if result.face_maps is not None else None
        self.body_levels = heatmap_levels(result.body_maps) if result.body_maps is not None else None
        self.name = inputs.entity_id.rsplit(":", 1)[-1]


def _draw_tracks(canvas: np.ndarray, active: list[tuple[_Drawing, int]]) -> str:
    """Heatmaps and boxes of the tracks on this frame; returns the strip label of the top speaker."""
    top_label, top_score = "", -1.0
    for track, pos in active:
        result = track.result
        face_px = track.face_px[pos]
        if track.body_levels is not None and track.body_px is not None:
            blend_into_box(canvas, track.body_px[pos], track.body_levels[pos], 0.30)
        if track.face_levels is not None:
            blend_into_box(canvas, face_px, track.face_levels[pos], 0.45)
        score = float(result.scores[pos])
        colour = score_colour(score)
        x1, y1, x2, y2 = np.round(face_px).astype(int).tolist()
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        if track.body_px is not None:
            bx1, by1, bx2, by2 = np.round(track.body_px[pos]).astype(int).tolist()
            cv2.rectangle(canvas, (bx1, by1), (bx2, by2), colour, 1)
        cv2.putText(canvas, f"{score:.2f}", (x1, max(10, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1,
                    cv2.LINE_AA)
        if score > top_score:
            top_score = score
            shares = result.shares or {}
            parts = " ".join(f"{m} {float(v[pos]):.2f}" for m, v in shares.items())
            top_label = f"{track.name}: p={score:.2f} {parts}".strip()
    return top_label
