"""The track store: one file per entity track plus a manifest and a per-video index (format version 1).

Layout of a store folder ``STORE/``::

    manifest.json              format version, dataset, split, settings (crop sizes/colours, body source,
                               sample rate, codecs), created_by; written once, checked by every later run
    index/<video_id>.json      the finished tracks of one video (entity_id -> file, n_frames, sha256,
                               category), whether the video is complete, and the rows skipped while
                               decoding it; replaced atomically after every track
    tracks/<video_id>/<name>.trk   one track (see :mod:`asd_explain.data.track_file`)
    reports/<run>.json, <run>-skipped.csv   one report per preparation run

Readers only see tracks listed in an index, and a track is listed only after its file is complete
(temp name + ``os.replace``), so no reader ever sees a partial track. Audio: ``audio[0]`` is the sample at
``timestamps_s[0] - 0.5 / fps`` seconds of the source video, sample ``k`` at ``that + k / 16000``, and the
slice ends at ``timestamps_s[-1] + 0.5 / fps`` (``N = round((ts[-1] - ts[0] + 1 / fps) * 16000)``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..constants import MODALITIES, SAMPLE_RATE_HZ
from .image_codec import decode_images
from .track_file import TrackFile, TrackFileError

STORE_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
INDEX_DIR = "index"
TRACKS_DIR = "tracks"
REPORTS_DIR = "reports"


class StoreError(ValueError):
    """A store folder that cannot be read or written as asked."""


@dataclass
class Track:
    """One entity track (T frames) as read from the store.

    ``timestamps_s (T,) float64`` annotated times; ``labels (T,) int8`` 0 NOT_SPEAKING, 1 SPEAKING_AUDIBLE,
    2 SPEAKING_NOT_AUDIBLE; ``face (T, Hf, Wf[, 3]) uint8``; ``body (T, Hb, Wb[, 3]) uint8`` or None;
    ``face_boxes``/``body_boxes (T, 4) float64`` normalised x1, y1, x2, y2; ``audio (N,) int16`` at 16 kHz
    starting at ``timestamps_s[0] - 0.5 / fps``; ``frame_times_s``/``frame_indices (T,)`` the decoded
    video frame used for each row (the nearest real frame); ``source_lines (T,)`` CSV line of each row;
    ``frame_size`` the video's (H, W) in pixels (None when the store did not record it).
    """

    entity_id: str
    video_id: str
    fps: float
    timestamps_s: np.ndarray
    labels: np.ndarray
    face: np.ndarray | None
    body: np.ndarray | None
    face_boxes: np.ndarray
    body_boxes: np.ndarray | None
    audio: np.ndarray | None
    category: str | None = None
    frame_times_s: np.ndarray | None = None
    frame_indices: np.ndarray | None = None
    source_files: tuple[str, ...] = ()
    source_lines: np.ndarray | None = None
    sample_rate_hz: int = SAMPLE_RATE_HZ
    frame_size: tuple[int, int] | None = None

    @property
    def n_frames(self) -> int:
        return len(self.timestamps_s)

    @property
    def audio_start_s(self) -> float:
        return float(self.timestamps_s[0]) - 0.5 / self.fps


def audio_span_samples(timestamps_s: np.ndarray, fps: float, start: int, stop: int,
                       sample_rate_hz: int = SAMPLE_RATE_HZ) -> tuple[int, int]:
    """Sample range of frames ``start:stop`` inside a track's audio (whose sample 0 is at frame 0)."""
    first = int(round((timestamps_s[start] - timestamps_s[0]) * sample_rate_hz))
    length = int(round((timestamps_s[stop - 1] - timestamps_s[start] + 1.0 / fps) * sample_rate_hz))
    return first, first + length


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through ``atomic_write`` (``fsync``: flushed to disk before the rename)."""
    with atomic_write(path, "wb", fsync=fsync) as handle:
        handle.write(data)


def json_bytes(obj: Any) -> bytes:
    """The store's JSON layout (indent 1, sorted keys, final newline), UTF-8."""
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode("utf-8")


def atomic_write_json(path: Path, obj: Any, *, fsync: bool = False) -> None:
    atomic_write_bytes(path, json_bytes(obj), fsync=fsync)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{path}: not found") from None
    except json.JSONDecodeError as err:
        raise StoreError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


class TrackStore:
    """Read access to a store folder: ``len(store)``, ``store.entity_ids``, ``store.read(entity_id)``.

    The index is loaded once (call :meth:`refresh` to see tracks written since); each ``read`` opens one
    file and reads only the byte ranges it needs.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = read_json(self.path / MANIFEST_NAME)
        version = self.manifest.get("format_version")
        if version != STORE_FORMAT_VERSION:
            raise StoreError(f"{self.path / MANIFEST_NAME}: store format version {version!r}, this reader "
                             f"knows {STORE_FORMAT_VERSION}")
        self.settings: dict[str, Any] = self.manifest["settings"]
        self.refresh()

    def refresh(self) -> None:
        """Reload the per-video index files."""
        entries: dict[str, dict[str, Any]] = {}
        self.video_status: dict[str, dict[str, Any]] = {}
        index_dir = self.path / INDEX_DIR
        for index_path in sorted(index_dir.glob("*.json")) if index_dir.is_dir() else []:
            index = read_json(index_path)
            video_id = index["video_id"]
            self.video_status[video_id] = {k: v for k, v in index.items() if k != "tracks"}
            for entity_id, entry in index["tracks"].items():
                if entity_id in entries:
                    raise StoreError(f"{index_path}: entity_id {entity_id!r} also in video "
                                     f"{entries[entity_id]['video_id']!r}")
                entries[entity_id] = dict(entry, video_id=video_id)
        self._entries = entries
        self.entity_ids: list[str] = sorted(entries)
        self._position = {e: i for i, e in enumerate(self.entity_ids)}

    def __len__(self) -> int:
        return len(self.entity_ids)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._entries

    def entry(self, entity_id: str) -> dict[str, Any]:
        """Index entry: file (relative), n_frames, sha256, category, video_id."""
        try:
            return self._entries[entity_id]
        except KeyError:
            raise KeyError(f"{self.path}: no track {entity_id!r}") from None

    @property
    def lengths(self) -> np.ndarray:
        """``(len(store),) int64`` frames per track, in ``entity_ids`` order."""
        return np.array([self._entries[e]["n_frames"] for e in self.entity_ids], dtype=np.int64)

    @property
    def n_frames(self) -> int:
        return int(self.lengths.sum())

    def index_of(self, entity_id: str) -> int:
        return self._position[entity_id]

    def track_path(self, entity_id: str) -> Path:
        return self.path / self.entry(entity_id)["file"]

    def content_hash(self, entity_id: str) -> str:
        return self.entry(entity_id)["sha256"]

    def read(self, entity_id: str, start: int = 0, stop: int | None = None, *,
             modalities: tuple[str, ...] = MODALITIES) -> Track:
        """Frames ``start:stop`` of one track; modalities not asked for come back as None."""
        entry = self.entry(entity_id)
        with TrackFile(self.path / entry["file"]) as track_file:
            return read_track(track_file, start, stop, modalities, category=entry.get("category"))

    def read_audio(self, entity_id: str) -> tuple[np.ndarray, float]:
        """(audio (N,) int16 of the whole track, fps): reads only the audio bytes."""
        with TrackFile(self.track_path(entity_id)) as track_file:
            return track_file.array("audio").copy(), float(track_file.header["fps"])


def _images(track_file: TrackFile, name: str, start: int, stop: int) -> np.ndarray | None:
    spec = track_file.header.get(name)
    if spec is None:
        return None
    offsets = track_file.array(f"{name}_offsets", start, stop + 1)
    data = track_file.byte_range(f"{name}_data", int(offsets[0]), int(offsets[-1]))
    shape = (spec["height"], spec["width"]) + ((3,) if spec["channels"] == 3 else ())
    return decode_images(data, offsets, spec["codec"], shape)


def read_track(track_file: TrackFile, start: int = 0, stop: int | None = None,
               modalities: tuple[str, ...] = MODALITIES, category: str | None = None) -> Track:
    """Build a :class:`Track` for frames ``start:stop`` from an open track file."""
    header = track_file.header
    n_frames = header["n_frames"]
    start, stop, _ = slice(start, stop).indices(n_frames)
    if stop <= start:
        raise ValueError(f"{track_file.path}: empty frame range {start}:{stop} of {n_frames}")
    fps = float(header["fps"])
    timestamps = track_file.array("timestamps_s")
    audio = None
    if "audio" in modalities:
        first, last = audio_span_samples(timestamps, fps, start, stop, header["sample_rate_hz"])
        audio = track_file.array("audio", first, last)
    has_body = track_file.has("body_boxes")
    return Track(
        entity_id=header["entity_id"], video_id=header["video_id"], fps=fps,
        timestamps_s=timestamps[start:stop], labels=track_file.array("labels", start, stop),
        face=_images(track_file, "face", start, stop) if "face" in modalities else None,
        body=_images(track_file, "body", start, stop) if "body" in modalities and has_body else None,
        face_boxes=track_file.array("face_boxes", start, stop),
        body_boxes=track_file.array("body_boxes", start, stop) if has_body else None,
        audio=audio, category=header.get("category", category),
        frame_times_s=track_file.array("frame_times_s", start, stop),
        frame_indices=track_file.array("frame_indices", start, stop),
        source_files=tuple(header.get("source_files", ())),
        source_lines=track_file.array("source_lines", start, stop),
        sample_rate_hz=int(header["sample_rate_hz"]),
        frame_size=tuple(int(v) for v in header["frame_size"]) if header.get("frame_size") else None,
    )


__all__ = [
    "MODALITIES", "SAMPLE_RATE_HZ", "STORE_FORMAT_VERSION", "StoreError", "Track", "TrackFileError",
    "TrackStore", "atomic_write_bytes", "atomic_write_json", "audio_span_samples", "read_track",
]
