"""Writing a track store: the manifest once, then tracks one by one, resumably and atomically.

Guarantees (tested by killing a run with SIGKILL and running it again):

* a track file appears under its final name only when complete (temp name + ``os.replace``);
* a video's index lists a track only after its file is in place, and is itself replaced atomically;
* a finished track is never written twice: a later run finds it in the index, or, when the previous run
  died between the file and the index update, finds the file, checks its content hash and adopts it;
* one process at a time works on a video (an exclusive ``flock`` on ``index/<video_id>.lock``; a second
  process waits for it, then finds the video's finished tracks).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from .image_codec import encode_image
from .store import (
    INDEX_DIR,
    MANIFEST_NAME,
    REPORTS_DIR,
    STORE_FORMAT_VERSION,
    TRACKS_DIR,
    StoreError,
    Track,
    atomic_write_bytes,
    atomic_write_json,
    json_bytes,
    read_json,
)
from .track_file import TrackFile, TrackFileError, pack_track

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def track_file_name(entity_id: str) -> str:
    """A file name for ``entity_id``: its safe characters plus 8 hex digits of its SHA-1 (no collisions)."""
    safe = _UNSAFE.sub("_", entity_id)[:80].lstrip(".") or "track"
    return f"{safe}-{hashlib.sha1(entity_id.encode('utf-8')).hexdigest()[:8]}.trk"


def open_store_for_writing(path: str | os.PathLike, manifest: dict[str, Any]) -> Path:
    """Create ``path`` with ``manifest`` or check that the existing manifest has the same settings.

    ``manifest`` holds ``dataset``, ``split``, ``settings`` and ``created_by``; ``format_version`` is added.
    Raises StoreError when an existing store was made with other dataset/split/settings.
    """
    root = Path(path)
    for sub in (INDEX_DIR, TRACKS_DIR, REPORTS_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    wanted = dict(manifest, format_version=STORE_FORMAT_VERSION)
    target = root / MANIFEST_NAME
    if not target.exists():
        # create-if-absent (os.link): safe when shards start together, the first manifest wins
        with atomic_write(target, "wb", exclusive=True) as handle:
            handle.write(json_bytes(wanted))
    existing = read_json(target)
    for key in ("format_version", "dataset", "split", "settings"):
        if existing.get(key) != wanted.get(key):
            raise StoreError(f"{target}: store was made with {_difference(key, existing.get(key), wanted.get(key))}"
                             f"; use another --out folder")
    return root


def _difference(key: str, old: Any, new: Any) -> str:
    """``settings.decoder='decord', this run asks 'pyav'`` for the first differing (sub)key."""
    if isinstance(old, dict) and isinstance(new, dict):
        for sub in sorted(set(old) | set(new)):
            if old.get(sub) != new.get(sub):
                return _difference(f"{key}.{sub}", old.get(sub), new.get(sub))
    return f"{key}={old!r}, this run asks {new!r}"


def _lock(path: Path, timeout_s: float | None):
    """An exclusive flock on ``path``; waits up to ``timeout_s`` (None: for as long as it takes)."""
    handle = open(path, "a")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                handle.close()
                raise StoreError(f"{path}: video is being prepared by another process") from None
            time.sleep(0.05)


class VideoWriter:
    """Writes the tracks of one video and keeps ``index/<video_id>.json`` in step with them."""

    def __init__(self, root: Path, video_id: str, *, fsync: bool = False,
                 lock_timeout_s: float | None = None) -> None:
        self.root = root
        self.video_id = video_id
        self.fsync = fsync
        self.index_path = root / INDEX_DIR / f"{video_id}.json"
        self.track_dir = root / TRACKS_DIR / video_id
        self._lock_handle = _lock(root / INDEX_DIR / f"{video_id}.lock", lock_timeout_s)
        if self.index_path.exists():
            self.index = read_json(self.index_path)
        else:
            self.index = {"format_version": STORE_FORMAT_VERSION, "video_id": video_id, "complete": False,
                          "tracks": {}, "skipped": [], "rows_in": 0}
        self.track_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.track_dir.glob(".*.tmp.*"):
            stale.unlink(missing_ok=True)

    def close(self) -> None:
        if not self._lock_handle.closed:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def complete(self) -> bool:
        return bool(self.index.get("complete"))

    @property
    def finished_entities(self) -> set[str]:
        return set(self.index["tracks"])

    def adopt_finished(self, entity_ids) -> list[str]:
        """Index tracks whose files exist but are not listed (run killed between file and index)."""
        adopted = []
        for entity_id in entity_ids:
            if entity_id in self.index["tracks"]:
                continue
            path = self.track_dir / track_file_name(entity_id)
            if not path.exists():
                continue
            try:
                with TrackFile(path) as track_file:
                    good = track_file.verify() and track_file.header["entity_id"] == entity_id
                    header = track_file.header
            except (TrackFileError, OSError, ValueError, KeyError):
                good = False
            if not good:
                path.unlink(missing_ok=True)
                continue
            self._add_entry(entity_id, path, header)
            adopted.append(entity_id)
        if adopted:
            atomic_write_json(self.index_path, self.index, fsync=self.fsync)
        return adopted

    def _add_entry(self, entity_id: str, path: Path, header: dict[str, Any]) -> None:
        self.index["tracks"][entity_id] = {
            "file": str(path.relative_to(self.root)), "n_frames": int(header["n_frames"]),
            "sha256": header["content_sha256"], "category": header.get("category"),
            "skipped": header.get("skipped_rows", []),
        }

    def write_track(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
        """Write one finished track; returns its content hash.

        ``header`` must hold ``entity_id`` and ``n_frames``; ``category`` and ``skipped_rows`` (rows of the
        track left out, as [file, row, reason, kind]) are copied into the index entry.
        """
        entity_id = header["entity_id"]
        if entity_id in self.index["tracks"]:
            raise StoreError(f"{self.index_path}: track {entity_id!r} is already finished")
        data, digest = pack_track(header, arrays)
        path = self.track_dir / track_file_name(entity_id)
        atomic_write_bytes(path, data, fsync=self.fsync)
        self._add_entry(entity_id, path, dict(header, content_sha256=digest))
        atomic_write_json(self.index_path, self.index, fsync=self.fsync)
        return digest

    def finish(self, rows_in: int, skipped: list[tuple[str, int, str]]) -> None:
        """Mark the video complete with its row count and the rows skipped while decoding it."""
        self.index["rows_in"] = int(rows_in)
        self.index["skipped"] = [list(s) for s in skipped]
        self.index["complete"] = True
        atomic_write_json(self.index_path, self.index, fsync=self.fsync)


def track_record(track: Track, *, codec: str = "zstd", jpeg_quality: int = 95,
                 extra_header: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) for :meth:`VideoWriter.write_track` from a :class:`Track` held in memory.

    For tracks made outside ``asd-prep`` (a detector/tracker on any video); crops are encoded with
    ``codec``; missing ``frame_times_s``/``frame_indices``/``source_lines`` are filled in (timestamps, -1).
    """
    n_frames = track.n_frames
    header = {
        "entity_id": track.entity_id, "video_id": track.video_id, "fps": float(track.fps),
        "category": track.category, "n_frames": n_frames, "sample_rate_hz": track.sample_rate_hz,
        "face": _image_spec(track.face, codec), "body": _image_spec(track.body, codec),
        "source_files": list(track.source_files), "skipped_rows": [],
    }
    if track.frame_size is not None:
        header["frame_size"] = [int(v) for v in track.frame_size]
    header.update(extra_header or {})
    minus_one = np.full(n_frames, -1, dtype=np.int64)
    arrays = {
        "timestamps_s": np.asarray(track.timestamps_s, dtype=np.float64),
        "frame_times_s": np.asarray(track.timestamps_s if track.frame_times_s is None else track.frame_times_s,
                                    dtype=np.float64),
        "frame_indices": minus_one if track.frame_indices is None else np.asarray(track.frame_indices, np.int64),
        "labels": np.asarray(track.labels, dtype=np.int8),
        "face_boxes": np.asarray(track.face_boxes, dtype=np.float64),
        "source_lines": minus_one if track.source_lines is None else np.asarray(track.source_lines, np.int64),
        "source_file_index": np.zeros(n_frames, dtype=np.int32),
        "audio": np.asarray(track.audio, dtype=np.int16),
    }
    arrays["face_offsets"], arrays["face_data"] = _encode_all(track.face, codec, jpeg_quality)
    if track.body is not None:
        arrays["body_boxes"] = np.asarray(track.body_boxes, dtype=np.float64)
        arrays["body_offsets"], arrays["body_data"] = _encode_all(track.body, codec, jpeg_quality)
    return header, arrays


def _image_spec(frames: np.ndarray | None, codec: str) -> dict[str, Any] | None:
    if frames is None:
        return None
    return {"codec": codec, "height": int(frames.shape[1]), "width": int(frames.shape[2]),
            "channels": 3 if frames.ndim == 4 else 1}


def _encode_all(frames: np.ndarray, codec: str, quality: int) -> tuple[np.ndarray, np.ndarray]:
    encoded = [encode_image(frame, codec, quality) for frame in frames]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return offsets, np.frombuffer(b"".join(encoded), dtype=np.uint8)
