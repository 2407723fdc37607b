"""A labelled track store from real videos with known speech, prepared the authors' way, plus mouth boxes.

``write_authors_store(videos, STORE)``: every face track of every ``LabelledVideo`` (a video and its speech
segments in seconds) is prepared as ``asd-explain prep-authors`` prepares it (``prepare_authors_tracks``:
25 fps, the toolkit's detector and tracker, the authors' crop with 13-frame median smoothing, grey 112 px,
16 kHz audio from the first frame on) and written as one store track, so ``asd-explain compare
--pretrained`` and ``evaluate --pretrained`` can read it:

  face        the authors' 112 x 112 grey crops (manifest ``settings.face_crop = "authors"``); no body stream;
  audio       the track's 16 kHz samples, sample 0 at the first frame's start (the authors' pairing); the
              track's ``timestamps_s`` are the 25 fps frames' centres ``n / 25 + 0.02``, so the store's rule
              (audio[0] at ``timestamps_s[0] - 0.5 / fps``) holds and ``PsfAudioDataset`` computes the
              authors' MFCC rows;
  labels      1 (SPEAKING_AUDIBLE) when the frame's start time ``n / 25`` lies in a speech segment, else 0
              (the rule of ``distill.real_check.speech_labels``);
  face_boxes  the detector's boxes, normalised by the frame size.

With ``landmarks`` (dlib68 / mtcnn; the ``landmarks`` extra), ``STORE/mouth/<video_id>/<track file>.npz`` holds
``regions`` (T, 4): the mouth region in the 112 px crop's coordinates (the lip landmarks' box grown by half
its height, ``metrics.mouth``; NaN rows where no face was found), read back by ``read_mouth``. The sidecar
is written before its track, so a listed track always has it. Resumable: a finished video is skipped.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import __version__
from ..data.store import SAMPLE_RATE_HZ, Track, TrackStore, atomic_write_bytes
from ..data.store_writer import VideoWriter, open_store_for_writing, track_file_name, track_record
from .prepare import AuthorsPrepConfig, AuthorsTrack, AuthorsVideo, authors_mouth_regions, prepare_authors_tracks

MOUTH_DIR = "mouth"


@dataclass(frozen=True)
class LabelledVideo:
    """A video and its speech segments [(start_s, end_s), ...] (``video_id``: default the file's stem)."""

    path: Path
    speech: tuple[tuple[float, float], ...]
    video_id: str | None = None

    @property
    def id(self) -> str:
        return self.video_id or Path(self.path).stem


def speech_labels(times_s: np.ndarray, segments: Sequence[tuple[float, float]]) -> np.ndarray:
    """(T,) int8: 1 when the time lies in a segment ``[start, end)``, else 0."""
    times = np.asarray(times_s, np.float64)
    inside = np.zeros(len(times), bool)
    for lo, hi in segments:
        inside |= (times >= lo) & (times < hi)
    return inside.astype(np.int8)


def store_track(track: AuthorsTrack, video_id: str, frame_size_hw: tuple[int, int], fps: float,
                segments: Sequence[tuple[float, float]]) -> Track:
    """One prepared track as a store ``Track`` (module docstring)."""
    height, width = frame_size_hw
    boxes = np.asarray(track.boxes, np.float64) / np.array([width, height, width, height], np.float64)
    start_s = np.asarray(track.timestamps_s, np.float64)
    return Track(entity_id=f"{video_id}:{track.track_id}", video_id=video_id, fps=fps,
                 timestamps_s=start_s + 0.5 / fps, labels=speech_labels(start_s, segments), face=track.faces,
                 body=None, face_boxes=boxes, body_boxes=None, audio=np.asarray(track.audio, np.int16),
                 frame_times_s=start_s, frame_indices=np.asarray(track.source_frames, np.int64),
                 source_files=(Path(video_id).name,))


def mouth_path(store_root: Path, video_id: str, entity_id: str) -> Path:
    return Path(store_root) / MOUTH_DIR / video_id / (Path(track_file_name(entity_id)).stem + ".npz")


def write_authors_store(videos: Sequence[LabelledVideo], store: str | Path,
                        config: AuthorsPrepConfig | None = None, landmarks: str = "dlib68", *,
                        progress: bool = True) -> TrackStore:
    """Prepare and write every video's face tracks into ``store`` (module docstring); returns the store."""
    config = config or AuthorsPrepConfig()
    root = open_authors_store(store, config, landmarks)
    for video in videos:
        with VideoWriter(root, video.id) as writer:
            if writer.complete:
                continue
            prepared = prepare_authors_tracks(video.path, config, progress=progress)
            regions = (authors_mouth_regions(prepared, landmarks, config, progress=progress)
                       if landmarks != "none" and prepared.tracks else None)
            write_prepared(writer, prepared, video, regions)
    return TrackStore(root)


def open_authors_store(store: str | Path, config: AuthorsPrepConfig, landmarks: str) -> Path:
    """Create (or reopen, same settings) a store of the authors' grey 112 px crops without a body stream."""
    settings = {"face_size": [112, 112], "face_colour": "gray", "face_crop": "authors", "body_source": "none",
                "image_codec": "zstd", "sample_rate_hz": SAMPLE_RATE_HZ, "audio_dtype": "int16",
                "authors_prep": asdict(config), "landmarks": landmarks}
    manifest = {"dataset": "labelled-videos", "split": "real", "settings": settings,
                "created_by": f"asd-explain {__version__} (pretrained_inputs.labelled_store)"}
    return open_store_for_writing(store, manifest)


def write_prepared(writer: VideoWriter, prepared: AuthorsVideo, video: LabelledVideo,
                   regions: list[np.ndarray] | None) -> None:
    """Write a prepared video's tracks (and their mouth regions (T, 4) per track) and mark it complete."""
    for k, track in enumerate(prepared.tracks):
        item = store_track(track, video.id, prepared.frame_size_hw, prepared.fps, video.speech)
        if item.entity_id in writer.finished_entities:
            continue
        if regions is not None:
            write_mouth(writer.root, video.id, item.entity_id, regions[k])
        header, arrays = track_record(item, extra_header={
            "video_file": str(video.path), "frame_size": list(prepared.frame_size_hw), "body_source": "none",
            "audio_alignment": "audio[0] at the first frame's start = timestamps_s[0] - 0.5 / fps",
            "speech_segments_s": [list(s) for s in video.speech]})
        writer.write_track(header, arrays)
    writer.finish(len(prepared.tracks), [])


def write_mouth(root: Path, video_id: str, entity_id: str, regions: np.ndarray) -> Path:
    """The track's mouth regions (T, 4) (crop coordinates, NaN rows: none) as its sidecar file (atomic)."""
    buffer = io.BytesIO()
    np.savez(buffer, regions=np.asarray(regions, np.float64))
    path = mouth_path(root, video_id, entity_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_mouth(store: TrackStore, entity_id: str, start: int = 0, stop: int | None = None) -> np.ndarray | None:
    """Frames ``start:stop`` of a track's mouth regions (n, 4) in crop coordinates, or None without a sidecar."""
    path = mouth_path(store.path, store.entry(entity_id)["video_id"], entity_id)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            regions = data["regions"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{path}: not a mouth-region file ({err})") from None
    if len(regions) != int(store.entry(entity_id)["n_frames"]):
        raise ValueError(f"{path}: {len(regions)} mouth regions for a track of {store.entry(entity_id)['n_frames']} "
                         "frames")
    return regions[start:stop]


def parse_segments(text: str) -> list[tuple[float, float]]:
    """``"0-2.5,3.5-4.7"`` -> [(0.0, 2.5), (3.5, 4.7)]; ``""`` -> []; a one-line ValueError otherwise."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            lo, hi = (float(v) for v in part.split("-"))
        except ValueError:
            raise ValueError(f"speech segment {part!r} is not START-END in seconds (e.g. 0-2.5,3.5-4.7)") from None
        if hi <= lo:
            raise ValueError(f"speech segment {part!r} ends before it starts")
        out.append((lo, hi))
    return out
