"""Write a small track store from ``Track`` records (test helper)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from asd_explain.data.store import Track, TrackStore
from asd_explain.data.store_writer import VideoWriter, open_store_for_writing, track_record

MANIFEST = {"dataset": "test", "split": None, "created_by": "pytest",
            "settings": {"body_source": "derived", "sample_rate_hz": 16000}}


def write_store(root: Path, tracks: Iterable[Track], codec: str = "png") -> TrackStore:
    """A store at ``root`` holding ``tracks`` (one writer per track, in order), opened for reading."""
    root = open_store_for_writing(root, MANIFEST)
    for track in tracks:
        with VideoWriter(root, track.video_id) as writer:
            writer.write_track(*track_record(track, codec=codec))
    return TrackStore(root)
