"""The evidence side file ``evidence/<video_id>.npz``: what really happened in each frame.

Arrays (F frames, P people in entity-number order 1..P, T = 100 Hz steps):
    video_id ()                  str
    fps_num, fps_den ()          int, exact frame rate
    width, height ()             int, frame size in pixels
    sample_rate_hz ()            int, audio sample rate of the mp4
    frame_times_s (F,)           float64, frame_index / fps
    entity_ids (P,)              str, as in the CSVs
    entity_numbers (P,)          int, the <n> of the entity id
    face_box, body_box (F,P,4)   float64 normalised x1 y1 x2 y2 (face_box = the CSV box, body_box = body CSV)
    mouth_box (F,P,4)            float64 normalised box of the lips
    gesture_box (F,P,4)          float64 normalised box of both arms and hands
    mouth_open (F,P)             float32 0..1 mouth opening drawn
    gesture (F,P)                float32 0..1 gesture intensity drawn
    blink (F,P)                  float32 0..1 eyelid closure
    hand_over_mouth (F,P)        float32 0..1 hand raised to the chin (FO)
    microphone (P,)              bool, a microphone covers a mouth corner (FO)
    speaking (F,P)               bool, inside one of the person's own turns (own-voice activity)
    audible (F,P)                bool, speaking and that turn is in the soundtrack (not muted)
    mouthing (F,P)               bool, mouth moves out of step with every voice (distractor)
    label_id (F,P)               int8 0 NOT_SPEAKING, 1 SPEAKING_AUDIBLE, 2 SPEAKING_NOT_AUDIBLE
    voice_activity_100hz (P,T)   bool, own turn active at t = k / 100 s
    voice_audible_100hz (P,T)    bool, own audible turn active
    voice_envelope_100hz (P,T)   float32 0..1 syllable envelope of the person's voice (muted turns too)
    offscreen_activity_100hz (T,) bool, the off-screen voice speaks (HVN)
    voice_mask_mel_100hz (P,T,40) bool, the person's voice dominates that mel band at that step (power
                                 above everything else in the mix together, 25 ms Hann window centred at
                                 (k + 0.5) / 100 s, 40 HTK mel bands over 0-8 kHz as the log-mel features)
    metadata_json ()             str, the video's metadata.csv row as JSON
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from .video import VideoPlan


def write_evidence(path: Path, plan: VideoPlan, boxes: dict[str, np.ndarray], labels: np.ndarray,
                   numbers: np.ndarray, entity_ids: list[str], tracks: dict[str, np.ndarray],
                   metadata: dict) -> None:
    """Write the npz atomically; people are reordered by entity number."""
    spec, m = plan.spec, plan.motion
    order = np.argsort(numbers, kind="stable")
    per_frame = {
        "mouth_open": m.mouth_open, "gesture": m.gesture, "blink": m.blink, "hand_over_mouth": m.hand_over_mouth,
    }
    arrays = {
        "video_id": np.array(spec.video_id), "fps_num": np.array(spec.fps_num), "fps_den": np.array(spec.fps_den),
        "width": np.array(spec.width), "height": np.array(spec.height),
        "sample_rate_hz": np.array(SAMPLE_RATE_HZ), "frame_times_s": spec.frame_times_s(),
        "entity_ids": np.array(entity_ids)[order], "entity_numbers": numbers[order],
        **{name: b[:, order] for name, b in boxes.items()},
        **{name: v[:, order].astype(np.float32) for name, v in per_frame.items()},
        "microphone": np.array([p.microphone for p in plan.people])[order],
        "speaking": m.speaking[:, order], "audible": (m.speaking & m.audible)[:, order],
        "mouthing": m.mouthing[:, order], "label_id": labels[:, order],
        **{name: v[order] for name, v in tracks.items() if v.ndim >= 2},
        **{name: v for name, v in tracks.items() if v.ndim == 1},
        "metadata_json": np.array(json.dumps(metadata, sort_keys=False)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def load_evidence(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of one evidence file (see the module docstring); scalars come back as Python values."""
    with np.load(path, allow_pickle=False) as data:
        return {k: (data[k].item() if data[k].ndim == 0 else data[k]) for k in data.files}
