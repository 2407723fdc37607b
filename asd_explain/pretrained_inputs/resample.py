"""A video's frames at 25 fps, as the authors' demo re-encodes every video (``ffmpeg -r 25``) first.

Rule (``display``, the default): output frame ``n`` is at ``n / 25`` s on the source's first-frame timeline
and shows the source frame on screen at that time, i.e. the last source frame whose presentation time is
``<= n / 25`` (+1 microsecond for float error); output frames run while ``n / 25`` is before the end of the
last source frame (its time + one source period). A 22.13 fps source thus repeats about every 8th frame;
a 25 fps source maps one to one. ``nearest`` instead rounds each source frame's time to the nearest
1/25 s tick first (output ``n`` shows the last frame whose rounded tick is ``<= n``), which is how FFmpeg's
constant-frame-rate output assigns frames to ticks.

``Frames25`` wraps a frames reader (``asd_explain.media.frames.open_video``: ``frame_times_s``, ``fps``,
``width``, ``height``, ``iter_frames``) so detectors, trackers and croppers see the 25 fps sequence.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

AUTHORS_FPS = 25.0
RULES = ("display", "nearest")


def source_frame_for_output(frame_times_s: np.ndarray, source_fps: float, fps: float = AUTHORS_FPS,
                            rule: str = "display") -> np.ndarray:
    """``(N,)`` int64: the source frame index shown by each output frame ``n = 0 .. N-1`` at ``fps``."""
    times = np.asarray(frame_times_s, np.float64)
    if len(times) == 0:
        return np.zeros(0, np.int64)
    if rule not in RULES:
        raise ValueError(f"unknown resampling rule {rule!r} (expected one of {', '.join(RULES)})")
    end_s = times[-1] + 1.0 / source_fps
    n_out = int(np.ceil((end_s - times[0]) * fps - 1e-6))
    ticks = times[0] + np.arange(n_out) / fps
    if rule == "display":
        index = np.searchsorted(times, ticks + 1e-6, side="right") - 1
    else:
        rounded = np.round((times - times[0]) * fps)
        index = np.searchsorted(rounded, np.arange(n_out), side="right") - 1
    return np.clip(index, 0, len(times) - 1).astype(np.int64)


class Frames25:
    """A frames reader seen at ``fps`` (default 25): same interface, output frame indices and times."""

    def __init__(self, frames, fps: float = AUTHORS_FPS, rule: str = "display") -> None:
        self.source = frames
        self.fps = float(fps)
        self.width, self.height = frames.width, frames.height
        self.source_index = source_frame_for_output(frames.frame_times_s, frames.fps, fps, rule)
        self.frame_times_s = float(frames.frame_times_s[0]) + np.arange(len(self.source_index)) / fps

    def __len__(self) -> int:
        return len(self.source_index)

    def iter_frames(self, indices: np.ndarray) -> Iterator[tuple[int, np.ndarray | None]]:
        """Yield ``(output index, RGB frame or None)`` for sorted unique output indices; each source frame
        is decoded once even when several output frames show it."""
        wanted = [int(i) for i in indices]
        sources = np.unique(self.source_index[wanted]) if wanted else np.zeros(0, np.int64)
        k = 0
        for source, frame in self.source.iter_frames(sources):
            while k < len(wanted) and self.source_index[wanted[k]] == source:
                yield wanted[k], frame
                k += 1
        for index in wanted[k:]:
            yield index, None
