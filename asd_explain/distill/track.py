"""One prepared face track of the distillation data (shared by ``data`` and ``augment``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps


@dataclass
class Track:
    """One prepared face track. faces (T, 112, 112) uint8; audio (640 T,) int16; mfcc (4T, 13) float32;
    teacher_logits (T, 2) float32; has_audio: False for a video without sound; face_maps (K, T, 128, 14, 14)
    float16: the frozen visual encoder's last map (before the SE block) of K versions of the track (the
    first as is, the others augmented, see ``face_map_variants``)."""

    name: str
    video: str
    faces: np.ndarray
    audio: np.ndarray
    mfcc: np.ndarray
    has_audio: bool
    teacher_logits: np.ndarray | None = None
    face_maps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.faces)
