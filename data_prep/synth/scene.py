"""The look of a video: people (face, hair, clothes, voice), their places, the background, the camera.

Faces are 16-30 % of the frame height (58-108 px at 640x360), 7-13 % in SS (surveillance) scenes.
People stand side by side, the smaller ones (further away) drawn first. The background is a
textured wall with shelves, frames and a window, drawn once per video with a margin so that a shaking
camera can move over it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .config import VideoSpec
from .voices import Voice, random_voice

SKIN_TONES_RGB = np.array([[241, 206, 180], [226, 182, 152], [198, 142, 105], [170, 115, 80],
                           [125, 82, 55], [88, 58, 40]], dtype=np.float64)
HAIR_RGB = np.array([[25, 20, 18], [60, 40, 25], [110, 75, 40], [180, 140, 80], [140, 140, 140],
                     [90, 30, 20]], dtype=np.float64)
EYE_RGB = np.array([[60, 40, 25], [40, 90, 140], [70, 100, 60], [30, 25, 20]], dtype=np.float64)


@dataclass(frozen=True)
class Person:
    """One on-screen person; positions in pixels of the output frame (before camera shake)."""

    cx: float  # head centre x at rest
    cy: float  # head centre y at rest
    face_w: float
    face_h: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: int  # 0 short, 1 long, 2 bald, 3 bun
    eyes: tuple[int, int, int]
    lips: tuple[int, int, int]
    shirt: tuple[int, int, int]
    beard: bool
    glasses: bool
    microphone: bool  # FO: a microphone partly in front of the mouth
    voice: Voice
    gesture_rate_hz: float
    articulation: float  # mouth opening per unit of voice envelope
    lag_s: float  # constant mouth lag against the voice


@dataclass(frozen=True)
class Camera:
    shake: bool
    blur_sigma: float  # 0 = sharp
    low_res_factor: int  # 1 = full resolution; SS: 2-4 (render smaller, upscale)
    noise_sigma: float
    margin: int  # background margin (px) available for shake


def _color(rng: np.random.Generator, palette: np.ndarray, jitter: float) -> tuple[int, int, int]:
    base = palette[int(rng.integers(len(palette)))] + rng.normal(0, jitter, size=3)
    return tuple(int(v) for v in np.clip(base, 0, 255))


def n_people_for(rng: np.random.Generator, category: str) -> int:
    """1-4 people; single-person scenes are rare (they make audio alone enough)."""
    weights = {"OC": [0.1, 0.45, 0.3, 0.15], "SI": [0.0, 0.4, 0.4, 0.2], "FO": [0.1, 0.5, 0.3, 0.1],
               "HVN": [0.15, 0.45, 0.3, 0.1], "SS": [0.05, 0.35, 0.35, 0.25]}[category]
    return int(rng.choice(4, p=weights)) + 1


def make_people(rng: np.random.Generator, spec: VideoSpec, n_people: int) -> list[Person]:
    """Looks and places of ``n_people``, sorted back (small) to front (large)."""
    width, height = spec.width, spec.height
    slot = width / n_people
    small = spec.category == "SS"
    people = []
    for k in range(n_people):
        face_h = height * (rng.uniform(0.07, 0.13) if small else rng.uniform(0.16, 0.30))
        face_w = face_h * rng.uniform(0.72, 0.82)
        if face_w > 0.55 * slot:
            face_w = 0.55 * slot
            face_h = face_w / 0.77
        cx = (k + 0.5) * slot + rng.uniform(-0.12, 0.12) * slot
        cy = height * (rng.uniform(0.2, 0.6) if small else rng.uniform(0.26, 0.42))
        skin = _color(rng, SKIN_TONES_RGB, 6.0)
        lips = tuple(int(v) for v in np.clip(np.array(skin) * [0.78, 0.55, 0.55] + [20, 0, 5], 0, 255))
        people.append(Person(
            cx=float(cx), cy=float(cy), face_w=float(face_w), face_h=float(face_h), skin=skin,
            hair=_color(rng, HAIR_RGB, 8.0), hair_style=int(rng.integers(4)), eyes=_color(rng, EYE_RGB, 5.0),
            lips=lips, shirt=tuple(int(v) for v in rng.integers(30, 230, size=3)),
            beard=bool(rng.random() < 0.2), glasses=bool(rng.random() < 0.2),
            microphone=spec.category == "FO" and bool(rng.random() < 0.7),
            voice=random_voice(rng), gesture_rate_hz=float(rng.uniform(0.7, 1.8)),
            articulation=float(rng.uniform(0.75, 1.0)), lag_s=float(rng.uniform(-0.02, 0.03)),
        ))
    return sorted(people, key=lambda p: p.face_h)


def make_camera(rng: np.random.Generator, spec: VideoSpec) -> Camera:
    """SS: low resolution and sensor noise; others: shake in 25 %, blur in 20 % of videos."""
    if spec.category == "SS":
        return Camera(shake=bool(rng.random() < 0.2), blur_sigma=float(rng.uniform(0.0, 0.8)),
                      low_res_factor=int(rng.integers(2, 4)), noise_sigma=float(rng.uniform(4, 9)), margin=24)
    return Camera(shake=bool(rng.random() < 0.25), blur_sigma=float(rng.uniform(1.0, 2.2)) * (rng.random() < 0.2),
                  low_res_factor=1, noise_sigma=float(rng.uniform(1, 3)), margin=24)


def camera_path(rng: np.random.Generator, camera: Camera, n_frames: int, fps: float) -> np.ndarray:
    """(F, 2) camera offset in pixels: a smoothed random walk plus a tremor, or zeros."""
    if not camera.shake or n_frames == 0:
        return np.zeros((n_frames, 2))
    steps = rng.normal(0, 1.0, size=(n_frames, 2))
    kernel = np.hanning(max(3, int(fps * 0.4)))
    walk = np.stack([np.convolve(np.cumsum(steps[:, i]), kernel / kernel.sum(), mode="same") for i in (0, 1)], 1)
    walk -= walk.mean(0)
    walk *= rng.uniform(4, 10) / (np.abs(walk).max() + 1e-9)
    tremor = rng.normal(0, 0.8, size=(n_frames, 2))
    return np.clip(walk + tremor, -camera.margin + 1, camera.margin - 1)


def make_background(rng: np.random.Generator, width: int, height: int, margin: int) -> np.ndarray:
    """(H + 2m, W + 2m, 3) uint8 RGB textured room: wall, shelves, frames, window, floor/table."""
    h, w = height + 2 * margin, width + 2 * margin
    wall = rng.uniform(60, 220, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = 1.0 + 0.25 * ((xx / w - 0.5) * rng.uniform(-1, 1) + (yy / h - 0.5) * rng.uniform(-1, 1))
    img = wall[None, None, :] * grad[..., None]
    for scale, amp in ((8, 18.0), (32, 10.0), (128, 6.0)):
        small = rng.normal(0, 1, size=(max(2, h // scale), max(2, w // scale), 1)).astype(np.float32)
        img += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    img += rng.normal(0, 4, size=(h, w, 1))  # fine grain
    img = np.clip(img, 0, 255).astype(np.uint8).copy()
    for _ in range(int(rng.integers(2, 6))):  # frames, shelves, a window
        x0, y0 = int(rng.uniform(0, w * 0.9)), int(rng.uniform(0, h * 0.6))
        x1, y1 = x0 + int(rng.uniform(0.05, 0.3) * w), y0 + int(rng.uniform(0.05, 0.35) * h)
        color = tuple(int(v) for v in rng.integers(20, 240, size=3))
        cv2.rectangle(img, (x0, y0), (x1, y1), color, -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(int(c * 0.5) for c in color), max(1, w // 200))
    floor_y = int(h * rng.uniform(0.8, 0.92))
    img[floor_y:] = (img[floor_y:] * rng.uniform(0.4, 0.7)).astype(np.uint8)
    return img
