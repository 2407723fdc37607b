"""Where a video's face tracks come from: the detector + tracker, or an AVA-format CSV of boxes.

Either way the result is a list of ``FaceTrack`` (pixel boxes on consecutive frames of one shot) on the
video's own frames, so the rest of the pipeline does not care which source was used.
"""
from __future__ import annotations

import os
import queue
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .detect import make_detector
from .track import FaceTrack, ShotChangeDetector, build_tracks

DETECTION_RATE_HZ = 6.0


def detection_stride(fps: float, detect_every: int | None) -> int:
    """Frames between detector runs: given, or about ``DETECTION_RATE_HZ`` detections per second."""
    if detect_every is not None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        return int(detect_every)
    return max(1, int(round(fps / DETECTION_RATE_HZ)))


def detect_face_tracks(
    frames, *, detector: str = "dlib", detect_every: int | None = None,
    min_track_s: float = 0.3, progress: bool = True, workers: int | None = None, smooth: int = 5,
) -> tuple[list[FaceTrack], dict]:
    """Run the detector every few frames and the shot-change detector on every frame, then link tracks.

    ``frames`` comes from ``asd_explain.media.frames.open_video`` (len, fps, iter_frames). The detectors
    downscale wide frames themselves; boxes are full-frame pixels. The detector runs on ``workers``
    threads (default: one per core, at most 4), each with its own detector (dlib and OpenCV release the
    GIL while they search), while this thread decodes and looks for shot changes; at most two frames per
    worker wait. ``smooth``: the tracker's median over boxes (frames, odd; 1 = raw boxes). Returns the tracks
    and a dict of what was done (stride, detector runs, shot starts).
    """
    stride = detection_stride(frames.fps, detect_every)
    workers = max(1, workers if workers is not None else min(4, len(os.sched_getaffinity(0))))
    first = make_detector(detector)  # made here: an unknown name fails before any decoding
    idle = queue.SimpleQueue()
    idle.put(first)

    def find_faces(frame: np.ndarray) -> np.ndarray:
        try:
            find = idle.get_nowait()
        except queue.Empty:  # another worker holds every detector: a copy (cheap when the detector has clone())
            find = first.clone() if hasattr(first, "clone") else make_detector(detector)
        try:
            return find(frame)
        finally:
            idle.put(find)

    cuts = ShotChangeDetector()
    n = len(frames)
    detections: list[np.ndarray] = [np.zeros((0, 5), np.float32)] * n
    shot_starts: set[int] = set()
    pending: deque[tuple[int, Future]] = deque()
    bar = tqdm(total=n, desc="detect faces", unit="frame", disable=not progress)
    with ThreadPoolExecutor(workers, thread_name_prefix="detect") as pool:
        for index, frame in frames.iter_frames(np.arange(n)):
            if frame is not None:
                if cuts(frame):
                    shot_starts.add(index)
                if index % stride == 0 or index in shot_starts:
                    pending.append((index, pool.submit(find_faces, frame)))
            while pending and (len(pending) > 2 * workers or pending[0][1].done()):
                done, future = pending.popleft()
                detections[done] = future.result()
            bar.update(1)
        for done, future in pending:
            detections[done] = future.result()
    bar.close()
    max_gap = max(3 * stride, int(round(0.5 * frames.fps)))
    min_detections = max(2, int(round(min_track_s * frames.fps / stride)))
    tracks = build_tracks(detections, shot_starts, max_gap=max_gap, min_detections=min_detections, smooth=smooth)
    info = {
        "detector": detector, "detect_every": stride, "frames_with_detections": sum(len(d) > 0 for d in detections),
        "detector_runs": len(range(0, n, stride)), "shot_starts": sorted(shot_starts),
    }
    return tracks, info


def csv_face_tracks(csv_path: str | Path, video_id: str, frame_times_s: np.ndarray, fps: float,
                    width: int, height: int, *, only_inside: bool = False
                    ) -> tuple[list[FaceTrack], list[str], list[str]]:
    """Face tracks from an AVA-format CSV (any variant): one track per entity_id of ``video_id``.

    Timestamps map to the nearest real frame; a row past the video's end is reported and skipped
    (``only_inside``: rows outside ``frame_times_s`` - a time range - are left out silently).
    Returns (tracks, entity ids in track order, issues as 'file:row: reason' lines).
    """
    from ..data.ava_csv import annotation_files, read_annotations
    from ..media.decode import nearest_frames

    annotations = read_annotations(annotation_files(csv_path))
    issues = [str(issue) for issue in annotations.issues]
    rows = annotations.videos.get(video_id)
    if rows is None:
        known = ", ".join(sorted(annotations.videos)[:5]) or "none"
        raise ValueError(f"{csv_path}: no rows for video {video_id!r} (videos in the file: {known})")
    tracks, entity_ids = [], []
    scale = np.array([width, height, width, height], np.float64)
    for entity, order in rows.tracks().items():
        indices, inside = nearest_frames(frame_times_s, rows.timestamps_s[order], fps)
        for i in np.flatnonzero(~inside) if not only_inside else ():
            file, line = rows.source(int(order[i]))
            issues.append(f"{file}:{line}: timestamp {rows.timestamps_s[order[i]]:.3f} s is past the video's end")
        order, indices = order[inside], indices[inside]
        if len(order) == 0:
            continue
        indices, first = np.unique(indices, return_index=True)  # one box per frame
        boxes = (rows.boxes[order[first]] * scale).astype(np.float32)
        kept = order[first]
        tracks.append(FaceTrack(len(tracks), indices.astype(np.int64), boxes, np.ones(len(indices), bool),
                                np.ones(len(indices), np.float32),
                                annotated=(rows.timestamps_s[kept].astype(np.float64),
                                           rows.boxes[kept].astype(np.float64))))
        entity_ids.append(entity)
    return tracks, entity_ids, issues
