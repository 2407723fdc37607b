"""Explanations made on the authors' 25 fps face tracks, seen on the source video's frames for the renderer.

``render_video`` draws each source frame; the published models see the video resampled to 25 fps
(``pretrained_inputs.resample``). ``source_frame_results`` gives each track's source frames (from its first
to its last) the 25 fps frame on screen at that time (the last one whose time is <= the source frame's),
and places the face heatmap on the frame window the 112 px crop was cut from (``CropWindows.crop_to_frame``
of the crop's pixel edges), so the heatmap lies exactly where the model looked.

The spectrogram strip under the video is a log-mel picture; the published models attend over 13 MFCC
coefficients, which are not frequency bands, so the strip shows the attention's time profile (its mean over
coefficients, the same on every band); the per-track sheets show the MFCC attention itself.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..explain.av_track import TrackExplanation
from ..pretrained_inputs.crop import KEEP_PX
from ..pretrained_inputs.prepare import AuthorsVideo
from .inputs import TrackInputs
from .render_video import TrackResult

STRIP_BANDS = 40  # the log-mel bands of the strip (``AudioFeatureConfig(kind="logmel")``)


def crop_boxes(track, width: int, height: int) -> np.ndarray:
    """``(T, 4)`` normalised frame boxes of each frame's 112 px crop (its outer pixel edges)."""
    corners = np.tile(np.array([[-0.5, -0.5], [KEEP_PX - 0.5, KEEP_PX - 0.5]]), (len(track), 1, 1))
    frame = track.crop.crop_to_frame(corners)  # (T, 2, 2)
    boxes = frame.reshape(len(track), 4)
    return boxes / np.array([width, height, width, height], np.float64)


def source_positions(source_times_s: np.ndarray, track_times_s: np.ndarray, first: int, last: int) -> np.ndarray:
    """For source frames ``first .. last``: the index of the 25 fps track frame on screen at each one."""
    times = source_times_s[first:last + 1]
    pos = np.searchsorted(track_times_s, times + 1e-6, side="right") - 1
    return np.clip(pos, 0, len(track_times_s) - 1)


def source_frame_results(source, prepared: AuthorsVideo, explanations: Sequence[TrackExplanation]
                         ) -> list[TrackResult]:
    """One ``TrackResult`` per track on ``source``'s frames (module docstring)."""
    width, height = source.width - source.width % 2, source.height - source.height % 2
    out = []
    for track, expl in zip(prepared.tracks, explanations):
        first, last = int(track.source_frames[0]), int(track.source_frames[-1])
        pos = source_positions(np.asarray(source.frame_times_s), track.timestamps_s, first, last)
        frames = np.arange(first, last + 1)
        inputs = TrackInputs(expl.entity_id or "track", frames, np.asarray(source.frame_times_s)[frames],
                             crop_boxes(track, width, height)[pos], None, track.faces[pos], None,
                             np.zeros(0, np.int16))
        out.append(TrackResult(inputs, expl.scores[pos], expl.face_maps[pos] if expl.face_maps is not None else None,
                               None, _strip_attention(expl.audio_attention, pos),
                               {m: v[pos] for m, v in expl.modality_shares.items()} or None,
                               {k: {m: v[pos] for m, v in vs.items()} for k, vs in expl.importance.items()} or None))
    return out


def _strip_attention(attention: np.ndarray | None, pos: np.ndarray) -> np.ndarray | None:
    """(13, 4T) MFCC attention -> (STRIP_BANDS, 4 len(pos)): its mean over coefficients at the shown frames."""
    if attention is None:
        return None
    profile = attention.mean(axis=0).reshape(-1, 4)[pos].reshape(-1)
    peak = float(profile.max()) if profile.size else 0.0
    profile = profile / peak if peak > 0 else profile
    return np.repeat(profile[None].astype(np.float32), STRIP_BANDS, axis=0)
