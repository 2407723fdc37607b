"""Drawing and saving audio-visual explanations: one PNG, one JSON (and the maps as .npz) per track.

``save_track_explanation(explanation, out_dir, face=..., body=...)`` writes, atomically:
  <name>.png       a strip of K frames (face crops and body crops with their SE heatmaps), the audio
                   features with the spectrogram attention over them, the speaking score per frame
                   (ground truth shaded when known) and the modality shares per frame;
  <name>.json      ``TrackExplanation.summary()``: per-frame scores and shares, per-track shares, SE
                   channel statistics, timestamps;
  <name>_maps.npz  face_maps, body_maps (T, H, W), audio_attention, audio_features (F, 4T), scores, as
                   float16 (with ``maps=True``).
``name`` is the entity id with every character other than letters, digits, ``-`` and ``.`` made ``_``.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..config import atomic_save_figure, atomic_write_text
from ..data.dataset import GREY_MEAN, GREY_STD, RGB_MEAN, RGB_STD
from .av_track import TrackExplanation
from .render import overlay_heatmap

SHARE_COLOURS = {"audio": "tab:green", "face": "tab:blue", "body": "tab:orange"}


def safe_name(entity_id: str) -> str:
    """A file name for an entity id (``vid_0_10:1`` -> ``vid_0_10_1``)."""
    return re.sub(r"[^A-Za-z0-9.\-]", "_", entity_id) or "track"


def crops_to_uint8(crops: np.ndarray) -> np.ndarray:
    """Normalised crops (T, C, H, W) (``normalise_frames``) -> (T, H, W, 3) uint8 RGB."""
    crops = np.asarray(crops, dtype=np.float32)
    if crops.shape[1] == 1:
        pixels = crops[:, 0] * GREY_STD + GREY_MEAN
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    else:
        pixels = crops.transpose(0, 2, 3, 1) * RGB_STD + RGB_MEAN
    return np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8)


def as_rgb(crops: np.ndarray) -> np.ndarray:
    """uint8 crops (T, H, W) grey or (T, H, W, 3) -> (T, H, W, 3)."""
    return np.repeat(crops[..., None], 3, axis=-1) if crops.ndim == 3 else crops


def frame_picks(n_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over the track (all frames when it is shorter)."""
    return np.unique(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int))


def render_track_png(explanation: TrackExplanation, path: str | Path, *, face: np.ndarray | None = None,
                     body: np.ndarray | None = None, n_strip: int = 8, title: str | None = None) -> Path:
    """Draw one track's explanation (module docstring) into ``path``.

    face / body: uint8 crops (T, H, W[, 3]) of the same frames (without them only maps are drawn).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = frame_picks(explanation.n_frames, n_strip)
    times = _times(explanation)
    strips = [(name, crops, maps) for name, crops, maps in
              (("face", face, explanation.face_maps), ("body", body, explanation.body_maps)) if maps is not None]
    plots = [p for p in ("audio", "score", "shares") if p != "audio" or explanation.audio_attention is not None]
    plots = [p for p in plots if p != "shares" or explanation.modality_shares]
    heights = [1.0] * len(strips) + [1.3 if p == "audio" else 0.9 for p in plots]
    fig = plt.figure(figsize=(max(10, 1.3 * len(picks)), 1.9 * sum(heights) + 0.6))
    grid = fig.add_gridspec(len(heights), len(picks), height_ratios=heights, hspace=0.45, wspace=0.05)
    for row, (name, crops, maps) in enumerate(strips):
        for col, t in enumerate(picks):
            ax = fig.add_subplot(grid[row, col])
            image = as_rgb(crops[t]) if crops is not None else np.zeros((*maps.shape[1:], 3), np.uint8)
            ax.imshow(overlay_heatmap(image, maps[t], alpha=0.45))
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{times[t]:.2f} s  p={explanation.scores[t]:.2f}", fontsize=7)
            if col == 0:
                ax.set_ylabel(name, fontsize=9)
    for offset, kind in enumerate(plots):
        ax = fig.add_subplot(grid[len(strips) + offset, :])
        {"audio": _draw_audio, "score": _draw_scores, "shares": _draw_shares}[kind](ax, explanation, times)
    fig.suptitle(title or explanation.entity_id or "track", fontsize=10, y=0.995)
    fig.subplots_adjust(top=1 - 0.45 / fig.get_figheight(), bottom=0.5 / fig.get_figheight(), left=0.06, right=0.98)
    return _save_figure(fig, Path(path))


def _times(explanation: TrackExplanation) -> np.ndarray:
    if explanation.timestamps_s is not None:
        return np.asarray(explanation.timestamps_s, dtype=np.float64)
    return np.arange(explanation.n_frames, dtype=np.float64)


def _draw_audio(ax, explanation: TrackExplanation, times: np.ndarray) -> None:
    features = explanation.audio_features
    lo, hi = np.percentile(features, [1, 99]) if features is not None else (0.0, 1.0)
    grey = np.zeros(explanation.audio_attention.shape, np.uint8) if features is None else \
        (np.clip((features - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    picture = overlay_heatmap(grey, explanation.audio_attention, alpha=0.45)
    step = (times[1] - times[0]) if len(times) > 1 else 1.0
    extent = (times[0] - step / 2, times[-1] + step / 2, 0, picture.shape[0])
    ax.imshow(picture, origin="lower", aspect="auto", extent=extent)
    ax.set_ylabel("feature band", fontsize=8)
    ax.set_title("audio features with SE attention (time x frequency)", fontsize=8)
    ax.tick_params(labelsize=7)


def _draw_scores(ax, explanation: TrackExplanation, times: np.ndarray) -> None:
    if explanation.labels is not None:
        speaking = np.asarray(explanation.labels) == 1
        ax.fill_between(times, 0, 1, where=speaking, step="mid", color="0.85", label="speaking (label)")
    ax.plot(times, explanation.scores, color="k", lw=1.2, label="score")
    ax.axhline(0.5, color="0.5", lw=0.6, ls="--")
    ax.set_ylim(0, 1)
    ax.set_xlim(times[0], times[-1] if len(times) > 1 else times[0] + 1)
    ax.set_ylabel("P(speaking)", fontsize=8)
    ax.legend(loc="upper right", fontsize=7)
    ax.tick_params(labelsize=7)


def _draw_shares(ax, explanation: TrackExplanation, times: np.ndarray) -> None:
    for modality, values in explanation.modality_shares.items():
        mean = explanation.track_shares[modality]
        ax.plot(times, values, color=SHARE_COLOURS.get(modality), lw=1.2, label=f"{modality} ({mean:.2f})")
    ax.set_xlim(times[0], times[-1] if len(times) > 1 else times[0] + 1)
    ax.set_ylabel("share", fontsize=8)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.set_title("modality shares of the fusion SE (track mean)", fontsize=8)
    ax.legend(loc="upper right", fontsize=7, ncol=3)
    ax.tick_params(labelsize=7)


def _save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        return atomic_save_figure(fig, path, dpi=90)
    finally:
        plt.close(fig)


def write_track_json(explanation: TrackExplanation, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """``explanation.summary()`` (plus ``extra``) as JSON, atomically."""
    payload = explanation.summary()
    if extra:
        payload.update(extra)
    path = Path(path)
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    return path


def write_track_maps(explanation: TrackExplanation, path: str | Path) -> Path:
    """The maps as a compressed float16 .npz, atomically."""
    arrays = {name: np.asarray(value, dtype=np.float16) for name, value in
              (("face_maps", explanation.face_maps), ("body_maps", explanation.body_maps),
               ("audio_attention", explanation.audio_attention), ("audio_features", explanation.audio_features),
               ("scores", explanation.scores)) if value is not None}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path


def save_track_explanation(explanation: TrackExplanation, out_dir: str | Path, *, face: np.ndarray | None = None,
                           body: np.ndarray | None = None, maps: bool = True, n_strip: int = 8,
                           extra: dict[str, Any] | None = None) -> dict[str, Path]:
    """PNG + JSON (+ maps .npz) of one track in ``out_dir``; returns the paths by kind."""
    out_dir = Path(out_dir)
    name = safe_name(explanation.entity_id or "track")
    paths = {"png": render_track_png(explanation, out_dir / f"{name}.png", face=face, body=body, n_strip=n_strip),
             "json": write_track_json(explanation, out_dir / f"{name}.json", extra)}
    if maps:
        paths["maps"] = write_track_maps(explanation, out_dir / f"{name}_maps.npz")
    return paths
