"""Writing and reading the authors'-recipe tracks of one video: one ``.npz`` per track + ``prep.json``.

``track_<id>.npz`` holds the ``AuthorsTrack`` arrays: frames (T,), source_frames (T,), timestamps_s (T,),
boxes (T, 4), windows (T, 4) (crop windows in frame pixels), half_size / centre_x / centre_y (T,) (the
smoothed box), faces (T, 112, 112) uint8, audio (640 T,) int16, mfcc (4T, 13) float32, and, when landmarks
were run, mouth_regions (T, 4) in 112 px crop coordinates (NaN rows: no face found). ``prep.json``: the
video, the config and what was done. Each file is written to a temp name and renamed.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.store import atomic_write_bytes, atomic_write_json
from .crop import CropWindows
from .prepare import AuthorsPrepConfig, AuthorsTrack, AuthorsVideo


def save_authors_video(video: AuthorsVideo, out: str | Path, config: AuthorsPrepConfig,
                       mouth_regions: list[np.ndarray] | None = None, landmarks: str | None = None) -> list[Path]:
    """Write every track of ``video`` into ``out``; returns the track files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, track in enumerate(video.tracks):
        arrays = {"frames": track.frames, "source_frames": track.source_frames, "timestamps_s": track.timestamps_s,
                  "boxes": track.boxes, "windows": track.crop.windows, "half_size": track.crop.half_size,
                  "centre_x": track.crop.centre_x, "centre_y": track.crop.centre_y, "faces": track.faces,
                  "audio": track.audio, "mfcc": track.mfcc}
        if mouth_regions is not None:
            arrays["mouth_regions"] = mouth_regions[k]
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path = out / f"track_{track.track_id}.npz"
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    info = {"video": str(video.path), "fps": video.fps, "frame_size_hw": list(video.frame_size_hw),
            "config": asdict(config), "landmarks": landmarks, "tracks": [p.name for p in paths],
            "info": json.loads(json.dumps(video.info, default=_plain))}
    atomic_write_json(out / "prep.json", info)
    return paths


def load_authors_track(path: str | Path) -> tuple[AuthorsTrack, np.ndarray | None]:
    """One ``track_<id>.npz`` -> ``(AuthorsTrack, mouth_regions (T, 4) or None)``."""
    path = Path(path)
    try:
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a prepared track ({err})") from None
    crop = CropWindows(arrays["windows"], arrays["half_size"], arrays["centre_x"], arrays["centre_y"])
    track_id = int(path.stem.split("_")[-1])
    track = AuthorsTrack(track_id, arrays["frames"], arrays["source_frames"], arrays["timestamps_s"],
                         arrays["boxes"], crop, arrays["faces"], arrays["audio"], arrays["mfcc"])
    return track, arrays.get("mouth_regions")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, tuple)):
        return sorted(value) if isinstance(value, set) else list(value)
    return str(value)
