"""A time range of a video's frames, with the interface of ``asd_explain.media.frames.open_video``'s readers.

``FrameRange(frames, start_s, end_s)`` holds the frames whose presentation time lies in ``[start_s, end_s)``:
``len``, ``fps``, ``width``, ``height``, ``frame_times_s`` (absolute times on the video's timeline, so
outputs keep absolute timestamps) and ``iter_frames(local indices)``. The underlying PyAV reader seeks to
a keyframe before the first wanted frame, so only the range (plus at most the GOP before it) is decoded;
the frame index itself comes from the packet timestamps, read without decoding.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class FrameRange:
    def __init__(self, frames, start_s: float | None = None, end_s: float | None = None) -> None:
        times = frames.frame_times_s
        lo = 0 if start_s is None else int(np.searchsorted(times, start_s - 1e-9, side="left"))
        hi = len(times) if end_s is None else int(np.searchsorted(times, end_s - 1e-9, side="left"))
        if hi <= lo:
            raise ValueError(f"no frame between {start_s} s and {end_s} s (the video's frames run "
                             f"{times[0]:.3f}-{times[-1]:.3f} s)")
        self.frames, self.first = frames, lo
        self.frame_times_s = times[lo:hi]
        self.fps, self.width, self.height = frames.fps, frames.width, frames.height
        self.origin_s = float(self.frame_times_s[0])

    def __len__(self) -> int:
        return len(self.frame_times_s)

    def iter_frames(self, indices: np.ndarray) -> Iterator[tuple[int, np.ndarray | None]]:
        for index, frame in self.frames.iter_frames(np.asarray(indices, dtype=np.int64) + self.first):
            yield index - self.first, frame
