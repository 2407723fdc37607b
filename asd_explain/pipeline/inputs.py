"""Model inputs for the tracks of one video, made exactly as ``asd-prep`` makes a store's tracks.

Face boxes are normalised and clipped to the frame; body boxes are derived from the face box with the
checkpoint's rule (``asd_explain.media.crops.BodyFromFace``); crops use ``asd_explain.media.crops.FrameCrops`` with the
checkpoint's sizes, colours and resize; each track's audio is the store's slice of the 16 kHz soundtrack
(sample 0 half a frame before the first timestamp, ``asd_explain.media.decode.track_audio``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from ..constants import SAMPLE_RATE_HZ
from ..media.crops import BodyFromFace, FrameCrops
from ..media.decode import track_audio
from .track import FaceTrack


@dataclass
class CropSettings:
    """How crops were made for the model (read from a checkpoint's ``preprocessing``)."""

    face_size: tuple[int, int] = (112, 112)
    face_colour: str = "gray"
    body_size: tuple[int, int] | None = (112, 112)
    body_colour: str = "gray"
    body_from_face: BodyFromFace = field(default_factory=BodyFromFace)
    resize: str = "linear"

    @classmethod
    def from_preprocessing(cls, prep: dict[str, Any], uses_body: bool) -> "CropSettings":
        extra = prep.get("extra") or {}
        face = extra.get("face_size") or prep.get("face_size", 112)
        face_size = (int(face), int(face)) if isinstance(face, (int, float)) else (int(face[0]), int(face[1]))
        rule = extra.get("body_from_face") or {}
        return cls(
            face_size=face_size,
            face_colour=extra.get("face_colour") or ("rgb" if prep.get("face_channels", 1) == 3 else "gray"),
            body_size=tuple(int(v) for v in prep.get("body_size", (112, 112))) if uses_body else None,
            body_colour=extra.get("body_colour") or ("rgb" if prep.get("body_channels", 1) == 3 else "gray"),
            body_from_face=BodyFromFace(**rule) if rule else BodyFromFace(),
            resize=extra.get("resize", "linear"),
        )


@dataclass
class TrackInputs:
    """One track's raw inputs: frames (T,) indices, timestamps_s (T,), face_boxes / body_boxes (T, 4)
    normalised, face (T, h, w[, 3]) and body crops uint8, audio (N,) int16 at 16 kHz."""

    entity_id: str
    frames: np.ndarray
    timestamps_s: np.ndarray
    face_boxes: np.ndarray
    body_boxes: np.ndarray | None
    face: np.ndarray
    body: np.ndarray | None
    audio: np.ndarray


def normalised_boxes(track: FaceTrack, width: int, height: int) -> np.ndarray:
    boxes = track.boxes.astype(np.float64) / np.array([width, height, width, height], np.float64)
    return np.clip(boxes, 0.0, 1.0)


def entity_id_for(video_id: str, track: FaceTrack, frame_times_s: np.ndarray) -> str:
    """AVA-style entity id ``<video_id>_<start>_<end>:<n>`` (seconds with 2 decimals, n = track number)."""
    start, end = frame_times_s[track.frames[0]], frame_times_s[track.frames[-1]]
    return f"{video_id}_{start:.2f}_{end:.2f}:{track.track_id}"


def collect_inputs(frames, tracks: list[FaceTrack], entity_ids: list[str], settings: CropSettings,
                   audio: np.ndarray, audio_t0_s: float, *, progress: bool = True,
                   sample_rate_hz: int = SAMPLE_RATE_HZ) -> list[TrackInputs]:
    """Decode the frames the tracks need once, in order, and cut every crop from them (a frame that
    cannot be decoded repeats the track's previous crop)."""
    width, height = frames.width, frames.height
    face_boxes = [normalised_boxes(t, width, height) for t in tracks]
    body_boxes = [settings.body_from_face.boxes(b) if settings.body_size else None for b in face_boxes]
    faces = [np.empty((len(t), *settings.face_size, *((3,) if settings.face_colour == "rgb" else ())), np.uint8)
             for t in tracks]
    bodies = [np.empty((len(t), *settings.body_size, *((3,) if settings.body_colour == "rgb" else ())), np.uint8)
              if settings.body_size else None for t in tracks]
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for k, track in enumerate(tracks):
        for pos, frame_index in enumerate(track.frames.tolist()):
            by_frame.setdefault(frame_index, []).append((k, pos))
    needed = np.array(sorted(by_frame), dtype=np.int64)
    bar = tqdm(total=len(needed), desc="crop faces/bodies", unit="frame", disable=not progress)
    for frame_index, frame in frames.iter_frames(needed):
        crops = FrameCrops(frame, settings.resize) if frame is not None else None
        for k, pos in by_frame[frame_index]:
            for crops_of, boxes, size, colour in ((faces, face_boxes, settings.face_size, settings.face_colour),
                                                  (bodies, body_boxes, settings.body_size, settings.body_colour)):
                if crops_of[k] is None:
                    continue
                if crops is not None:
                    crops_of[k][pos] = crops.crop(boxes[k][pos], size, colour)
                else:
                    crops_of[k][pos] = crops_of[k][pos - 1] if pos else 0
        bar.update(1)
    bar.close()
    out = []
    for k, track in enumerate(tracks):
        timestamps = frames.frame_times_s[track.frames].astype(np.float64)
        out.append(TrackInputs(
            entity_ids[k], track.frames, timestamps, face_boxes[k], body_boxes[k], faces[k], bodies[k],
            track_audio(audio, audio_t0_s, timestamps, frames.fps, sample_rate_hz),
        ))
    return out
