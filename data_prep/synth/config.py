"""Settings of the synthetic corpus: categories, frame rates, presets and the per-video spec.

A corpus is fixed by its arguments (videos, seconds, seed, size, categories, fps choices); every
video gets its own seed derived from the corpus seed and its index, so a video does not depend on
how many workers made the corpus or in which order.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

GENERATOR_VERSION = "1.1"  # 1.1: evidence gains voice_mask_mel_100hz (pixels and sound as 1.0)
ACTIVITY_RATE_HZ = 100

CATEGORIES: tuple[str, ...] = ("OC", "SI", "FO", "HVN", "SS")
CATEGORY_NAMES = {
    "OC": "optimal conditions",
    "SI": "speech impairment (overlap, low SNR)",
    "FO": "face occlusion",
    "HVN": "human voice / music as background noise",
    "SS": "surveillance settings (small faces, low resolution)",
}
FPS_CHOICES: tuple[Fraction, ...] = (Fraction(30000, 1001), Fraction(25), Fraction(24), Fraction(30))

LABELS = ("NOT_SPEAKING", "SPEAKING_AUDIBLE", "SPEAKING_NOT_AUDIBLE")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}

PRESETS: dict[str, dict] = {
    # tiny: for unit tests of every area (a few seconds of CPU)
    "tiny": {"videos": 3, "seconds": 2.0, "size": (320, 180)},
    # demo: the embedded default behind the README's demo
    "demo": {"videos": 12, "seconds": 10.0, "size": (640, 360)},
}


def parse_fps(value: str | float | int | Fraction) -> Fraction:
    """'25', '29.97', '30000/1001' or a number -> exact frame rate (29.97 means 30000/1001)."""
    if isinstance(value, Fraction):
        fps = value
    else:
        text = str(value).strip()
        if text in ("29.97", "23.976", "59.94"):
            fps = Fraction(round(float(text) * 1.001) * 1000, 1001)
        else:
            try:
                fps = Fraction(text).limit_denominator(1001)
            except ValueError:
                raise ValueError(f"frame rate {value!r} is not a number like 25, 29.97 or 30000/1001") from None
    if not 1 <= fps <= 120:
        raise ValueError(f"frame rate {value!r} outside 1..120 fps")
    return fps


def parse_size(value: str | tuple[int, int]) -> tuple[int, int]:
    """'640x360' or (640, 360) -> (width, height), both even and >= 64."""
    if isinstance(value, str):
        parts = value.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"size {value!r} must look like 640x360")
        value = (int(parts[0]), int(parts[1]))
    width, height = int(value[0]), int(value[1])
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError(f"size {width}x{height} must be even and at least 64x64")
    return width, height


def parse_categories(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """'OC,SI' or a list -> validated tuple; None -> all five WASD categories."""
    if value is None:
        return CATEGORIES
    items = [v.strip().upper() for v in (value.split(",") if isinstance(value, str) else value)]
    items = [v for v in items if v]
    bad = [v for v in items if v not in CATEGORIES]
    if bad or not items:
        raise ValueError(f"unknown category {bad[0] if bad else '(none)'!r}; choose from {', '.join(CATEGORIES)}")
    return tuple(items)


@dataclass(frozen=True)
class VideoSpec:
    """Everything that decides one video: its id, category, frame rate, size, length and seed."""

    video_id: str
    index: int
    seed: int
    category: str
    fps_num: int
    fps_den: int
    width: int
    height: int
    seconds: float

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def n_frames(self) -> int:
        return int(self.seconds * self.fps_num // self.fps_den)

    def frame_times_s(self) -> np.ndarray:
        """(F,) exact frame times index / fps in seconds."""
        return np.arange(self.n_frames, dtype=np.float64) * self.fps_den / self.fps_num


def video_seed(corpus_seed: int, index: int) -> int:
    """The per-video seed: independent of worker count and order."""
    return int(np.random.SeedSequence([int(corpus_seed) & 0xFFFFFFFF, 0x5EED, index]).generate_state(1)[0])


def make_video_specs(
    *,
    videos: int,
    seconds: float,
    seed: int,
    size: tuple[int, int],
    categories: tuple[str, ...],
    fps_choices: tuple[Fraction, ...],
) -> list[VideoSpec]:
    """One spec per video; categories cycle in the given order, and so do frame rates (shifted by one
    after each round of categories, so every category meets every rate): with the defaults video 0 is
    OC at 29.97 fps, video 1 SI at 25 fps, video 2 FO at 24 fps."""
    if videos < 1:
        raise ValueError(f"videos must be >= 1, got {videos}")
    if not 1.0 <= seconds <= 600.0:
        raise ValueError(f"seconds must be in 1..600, got {seconds}")
    specs = []
    for index in range(videos):
        vseed = video_seed(seed, index)
        fps = fps_choices[(index + index // len(categories)) % len(fps_choices)]
        specs.append(
            VideoSpec(
                video_id=f"syn{seed}-{index:04d}",
                index=index,
                seed=vseed,
                category=categories[index % len(categories)],
                fps_num=fps.numerator,
                fps_den=fps.denominator,
                width=size[0],
                height=size[1],
                seconds=float(seconds),
            )
        )
    return specs
