"""Writing the evidence side file ``evidence/<video_id>.npz`` (format: ``asd_explain.data.evidence``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from asd_explain.atomic import atomic_write
from asd_explain.constants import SAMPLE_RATE_HZ

from .plan import VideoPlan


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
    with atomic_write(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
