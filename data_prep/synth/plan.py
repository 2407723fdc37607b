"""Everything about one synthetic video except its pixels (made by ``video.plan_video``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import VideoSpec
from .motion import Motion
from .scene import Camera, Person
from .speech import SpeechPlan


@dataclass
class VideoPlan:
    spec: VideoSpec
    people: list[Person]
    camera: Camera
    cam_path: np.ndarray  # (F, 2) pixels
    background: np.ndarray  # (H', W', 3) uint8, drawn at render scale with margin
    speech: SpeechPlan
    motion: Motion
    audio: np.ndarray  # (N,) float32
    voices: np.ndarray  # (P, N) float64: each person's audible speech as it is in ``audio``
    noise: list[tuple[np.ndarray, np.ndarray]]
