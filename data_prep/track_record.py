"""The header and arrays of one track file, built from a video pass (see asd_explain.data.track_file)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.data.ava_csv import RowIssue, VideoAnnotations
from asd_explain.media.decode import track_audio

from .settings import PrepSettings


class VideoPass(Protocol):
    """What a track record reads of ``video_job``'s pass over one video (the job, the annotation rows, the
    decoded frames' facts, the decoded audio and the rows' frames and body boxes)."""

    job: Any
    settings: PrepSettings
    rows: VideoAnnotations
    frames: Any
    frame_of_row: np.ndarray
    body_boxes: np.ndarray | None
    audio: np.ndarray
    audio_t0_s: float


class TrackBuffer:
    """Encoded face / body crops of one track's rows while its video is decoded; ``ok`` False = no frame."""

    def __init__(self, n_rows: int) -> None:
        self.face: list[bytes | None] = [None] * n_rows
        self.body: list[bytes | None] = [None] * n_rows
        self.ok = np.ones(n_rows, dtype=bool)


def _image_spec(size: tuple[int, int], colour: str, codec: str) -> dict[str, Any]:
    return {"codec": codec, "height": size[0], "width": size[1], "channels": 3 if colour == "rgb" else 1}


def track_header(video: VideoPass, entity_id: str, rows: np.ndarray, skipped: list[RowIssue]) -> dict[str, Any]:
    """JSON header of a track made of ``rows`` (indices into the video's annotations, time order)."""
    settings = video.settings
    files = sorted({video.rows.file_index[i] for i in rows.tolist()})
    return {
        "entity_id": entity_id,
        "video_id": video.job.video_id,
        "video_file": video.job.video_path.name,
        "frame_size": [video.frames.height, video.frames.width],
        "fps": video.frames.fps,
        "category": video.job.category,
        "n_frames": int(len(rows)),
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "audio_alignment": "audio[0] at timestamps_s[0] - 0.5 / fps",
        "face": _image_spec(settings.face_size, settings.face_colour, settings.image_codec),
        "body": (_image_spec(settings.body_size, settings.body_colour, settings.image_codec)
                 if video.body_boxes is not None else None),
        "body_source": settings.body_source,
        "source_files": [Path(video.rows.file_names[int(i)]).name for i in files],
        "skipped_rows": [[Path(i.file).name, i.row, i.reason, i.kind] for i in skipped],
    }


def _concat(frames: list[bytes | None], keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    chosen = [frames[i] for i in np.flatnonzero(keep).tolist()]
    offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in chosen])
    return offsets, np.frombuffer(b"".join(chosen), dtype=np.uint8)


def track_arrays(video: VideoPass, rows: np.ndarray, buffer: TrackBuffer) -> dict[str, np.ndarray]:
    """Binary arrays of a track (``rows`` = the kept rows, in time order)."""
    ts = video.rows.timestamps_s[rows]
    frame_index = video.frame_of_row[rows]
    arrays = {
        "timestamps_s": ts.astype(np.float64),
        "frame_times_s": video.times_s[frame_index].astype(np.float64),
        "frame_indices": frame_index.astype(np.int64),
        "labels": video.rows.labels[rows].astype(np.int8),
        "face_boxes": video.rows.boxes[rows].astype(np.float64),
        "source_lines": video.rows.lines[rows].astype(np.int64),
        "source_file_index": np.searchsorted(np.unique(video.rows.file_index[rows]),
                                             video.rows.file_index[rows]).astype(np.int32),
        "audio": track_audio(video.audio, video.audio_t0_s, ts, video.frames.fps),
    }
    arrays["face_offsets"], arrays["face_data"] = _concat(buffer.face, buffer.ok)
    if video.body_boxes is not None:
        arrays["body_boxes"] = video.body_boxes[rows].astype(np.float64)
        arrays["body_offsets"], arrays["body_data"] = _concat(buffer.body, buffer.ok)
    return arrays
