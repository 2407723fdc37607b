"""The per-track PNG sheet of ``explain VIDEO``, drawn with numpy + OpenCV (no matplotlib figure).

It shows what ``asd_explain.explain.av_render.render_track_png`` shows (used by ``explain-track``): a
strip of frames spread over the track (face and body crops with their SE heatmaps, time and score above
each), the audio features with the spectrogram attention over them, the speaking score per frame against
the 0.5 line (ground truth shaded when known) and the modality shares per frame with their track means,
on one time axis. Drawing it takes a few milliseconds instead of ~1 s per track for the figure.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ..explain.av_render import as_rgb, frame_picks
from ..explain.av_track import TrackExplanation
from ..explain.render import overlay_heatmap, write_png

WIDTH = 1400
SHARE_RGB = {"audio": (44, 160, 44), "face": (31, 119, 180), "body": (255, 127, 14)}  # matplotlib's tab: colours
FONT = cv2.FONT_HERSHEY_SIMPLEX
INK, GRID, SHADE = (0, 0, 0), (150, 150, 150), (217, 217, 217)
LEFT, RIGHT = 100, 16  # plot margins (labels on the left)


def render_track_sheet(explanation: TrackExplanation, face: np.ndarray | None = None, body: np.ndarray | None = None,
                       *, n_strip: int = 8, width: int = WIDTH, title: str | None = None) -> np.ndarray:
    """The sheet as an (H, ``width``, 3) uint8 RGB image; face / body: uint8 crops of the track's frames."""
    times = _times(explanation)
    parts = [_title(explanation, title, width)]
    picks = frame_picks(explanation.n_frames, n_strip)
    strips = [(name, crops, maps) for name, crops, maps in
              (("face", face, explanation.face_maps), ("body", body, explanation.body_maps)) if maps is not None]
    for row, (name, crops, maps) in enumerate(strips):
        parts.append(_crop_strip(name, crops, maps, picks, times, explanation.scores, width, captions=row == 0))
    span = (float(times[0]), float(times[-1]) if len(times) > 1 else float(times[0]) + 1.0)
    if explanation.audio_attention is not None:
        parts.append(_audio_panel(explanation, times, width))
    parts.append(_score_panel(explanation, times, span, width))
    if explanation.modality_shares:
        parts.append(_shares_panel(explanation, times, span, width))
    means = explanation.track_importance
    if "kept_channels" in explanation.importance:
        parts.append(_modality_panel(explanation.importance["kept_channels"], means["kept_channels"], times, span,
                                     width, "share of the kept fusion channels (track mean)", "kept", 0.0, 1.0))
    if "occlusion" in explanation.importance:
        values = explanation.importance["occlusion"]
        top = max(0.1, math.ceil(10 * max(float(np.max(np.abs(v))) for v in values.values())) / 10)
        parts.append(_modality_panel(values, means["occlusion"], times, span, width,
                                     "P(speak) minus P(speak) without the modality (track mean)", "occlusion",
                                     -min(top, 1.0), min(top, 1.0)))
    parts.append(_time_axis(span, width))
    return np.concatenate(parts, axis=0)


def save_track_sheet(explanation: TrackExplanation, path: str | Path, **kwargs) -> tuple[Path, np.ndarray]:
    """Write the sheet as a PNG (atomically); returns the path and the RGB image."""
    image = render_track_sheet(explanation, **kwargs)
    return write_png(path, image), image


def _times(explanation: TrackExplanation) -> np.ndarray:
    if explanation.timestamps_s is not None:
        return np.asarray(explanation.timestamps_s, dtype=np.float64)
    return np.arange(explanation.n_frames, dtype=np.float64)


def _blank(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def _text(image: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, colour=INK,
          thickness: int = 1) -> None:
    cv2.putText(image, text, org, FONT, scale, colour, thickness, cv2.LINE_AA)


def _title(explanation: TrackExplanation, title: str | None, width: int) -> np.ndarray:
    image = _blank(30, width)
    shares = "  ".join(f"{m} {v:.2f}" for m, v in explanation.track_shares.items())
    mean = float(np.mean(explanation.scores)) if explanation.n_frames else float("nan")
    line = f"{title or explanation.entity_id or 'track'}   {explanation.n_frames} frames   mean p={mean:.2f}"
    _text(image, line + (f"   shares: {shares}" if shares else ""), (8, 21), 0.55, thickness=1)
    return image


def _crop_strip(name: str, crops: np.ndarray | None, maps: np.ndarray, picks: np.ndarray, times: np.ndarray,
                scores: np.ndarray, width: int, captions: bool) -> np.ndarray:
    gap, top = 6, 18 if captions else 4
    tile = min(160, (width - LEFT - RIGHT - gap * (len(picks) - 1)) // max(len(picks), 1))
    image = _blank(top + tile + 4, width)
    _text(image, name, (8, top + tile // 2 + 5), 0.5)
    for col, t in enumerate(picks):
        crop = as_rgb(crops[t]) if crops is not None else np.zeros((*maps.shape[1:], 3), np.uint8)
        picture = overlay_heatmap(crop, maps[t], alpha=0.45)
        x = LEFT + col * (tile + gap)
        image[top:top + tile, x:x + tile] = cv2.resize(picture, (tile, tile), interpolation=cv2.INTER_LINEAR)
        if captions:
            _text(image, f"{times[t]:.2f} s  p={scores[t]:.2f}", (x, 13), 0.38)
    return image


def _plot_area(height: int, width: int, title: str, ylabel: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A panel with a title line and a framed plot area; returns it and the area (x0, y0, x1, y1)."""
    image = _blank(height, width)
    x0, y0, x1, y1 = LEFT, 18, width - RIGHT, height - 4
    if title:
        _text(image, title, (x0, 13), 0.42)
    _text(image, ylabel, (4, (y0 + y1) // 2 + 4), 0.38)
    return image, (x0, y0, x1, y1)


def _frame_box(image: np.ndarray, area: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = area
    cv2.rectangle(image, (x0, y0), (x1, y1), INK, 1)


def _to_x(times: np.ndarray, span: tuple[float, float], area: tuple[int, int, int, int]) -> np.ndarray:
    x0, _, x1, _ = area
    return x0 + (np.asarray(times, np.float64) - span[0]) / max(span[1] - span[0], 1e-9) * (x1 - x0)


def _to_y(values: np.ndarray, area: tuple[int, int, int, int], lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    _, y0, _, y1 = area
    return y1 - (np.clip(np.asarray(values, np.float64), lo, hi) - lo) / (hi - lo) * (y1 - y0)


def _polyline(image: np.ndarray, x: np.ndarray, y: np.ndarray, colour, thickness: int = 1) -> None:
    points = np.round(np.stack([x, y], axis=1) * 16).astype(np.int32)[None]  # 4 fractional bits
    cv2.polylines(image, points, False, colour, thickness, cv2.LINE_AA, shift=4)


def _dashed_hline(image: np.ndarray, y: int, x0: int, x1: int, colour, dash: int = 6) -> None:
    for x in range(x0, x1, 2 * dash):
        cv2.line(image, (x, y), (min(x + dash, x1), y), colour, 1)


def _audio_panel(explanation: TrackExplanation, times: np.ndarray, width: int) -> np.ndarray:
    image, area = _plot_area(150, width, "audio features with SE attention (time x frequency, low bands at "
                                         "the bottom)", "bands")
    features = explanation.audio_features
    attention = explanation.audio_attention
    if features is None:
        grey = np.zeros(attention.shape, np.uint8)
    else:
        lo, hi = np.percentile(features, [1, 99])
        grey = (np.clip((features - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    picture = overlay_heatmap(grey, attention, alpha=0.45)[::-1]
    x0, y0, x1, y1 = area
    image[y0:y1, x0:x1] = cv2.resize(picture, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    _frame_box(image, area)
    return image


def _score_panel(explanation: TrackExplanation, times: np.ndarray, span: tuple[float, float],
                 width: int) -> np.ndarray:
    image, area = _plot_area(110, width, "", "P(speak)")
    x0, y0, x1, y1 = area
    x = _to_x(times, span, area)
    if explanation.labels is not None:  # ground truth: shaded frames
        speaking = np.asarray(explanation.labels) == 1
        step = (x[1] - x[0]) / 2 if len(x) > 1 else 1.0
        for i in np.flatnonzero(speaking):
            cv2.rectangle(image, (int(round(x[i] - step)), y0), (int(round(x[i] + step)), y1), SHADE, -1)
        _text(image, "shaded: speaking (label)", (x1 - 330, 13), 0.38, (110, 110, 110))
    _dashed_hline(image, int(round(_to_y([0.5], area)[0])), x0, x1, GRID)
    _polyline(image, x, _to_y(explanation.scores, area), INK, 2)
    _frame_box(image, area)
    for value in (0.0, 0.5, 1.0):
        _text(image, f"{value:.1f}", (x0 - 26, int(round(_to_y([value], area)[0])) + 4), 0.35)
    _text(image, "score", (x1 - 60, 13), 0.4)
    return image


def _shares_panel(explanation: TrackExplanation, times: np.ndarray, span: tuple[float, float],
                  width: int) -> np.ndarray:
    top = max(1e-6, max(float(np.max(v)) for v in explanation.modality_shares.values()))
    hi = min(1.0, math.ceil(top * 10) / 10)
    return _modality_panel(explanation.modality_shares, explanation.track_shares, times, span, width,
                           "modality shares of the fusion SE (track mean)", "share", 0.0, hi)


def _modality_panel(values: dict[str, np.ndarray], means: dict[str, float], times: np.ndarray,
                    span: tuple[float, float], width: int, title: str, label: str, lo: float, hi: float) -> np.ndarray:
    """One curve per modality (T,) on [lo, hi], the legend with each track mean."""
    image, area = _plot_area(110, width, title, label)
    x0, _, x1, _ = area
    x = _to_x(times, span, area)
    legend_x = x1 - 110 * len(values)
    if lo < 0 < hi:
        _dashed_hline(image, int(round(_to_y([0.0], area, lo, hi)[0])), x0, x1, GRID)
    for k, (modality, curve) in enumerate(values.items()):
        colour = SHARE_RGB.get(modality, (100, 100, 100))
        _polyline(image, x, _to_y(curve, area, lo, hi), colour, 2)
        _text(image, f"{modality} ({means[modality]:.2f})", (legend_x + 110 * k, 13), 0.4, colour)
    _frame_box(image, area)
    for value in (lo, hi):
        _text(image, f"{value:.1f}", (x0 - (34 if value < 0 else 26), int(round(_to_y([value], area, lo, hi)[0])) + 4),
              0.35)
    return image


def _time_axis(span: tuple[float, float], width: int) -> np.ndarray:
    image = _blank(34, width)
    area = (LEFT, 0, width - RIGHT, 0)
    length = span[1] - span[0]
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600) if length / s <= 12), 1200)
    for tick in np.arange(math.ceil(span[0] / step) * step, span[1] + 1e-9, step):
        x = int(round(_to_x(np.array([tick]), span, area)[0]))
        cv2.line(image, (x, 0), (x, 5), INK, 1)
        _text(image, f"{tick:g}", (x - 8, 18), 0.38)
    _text(image, "time (s)", ((LEFT + width - RIGHT) // 2 - 25, 31), 0.4)
    return image
