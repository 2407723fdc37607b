"""`shapes`: a generated image dataset whose evidence is known.

Each image holds one small class-defining object (a circle, square, triangle, star, cross or diamond,
filled with the class's own two-colour pattern) at a random place on a cluttered background (colour
gradient, noise texture, thin line segments, open polylines and dots, none a closed or filled shape).
The object's pixel mask is returned with the image, so a heatmap can be checked against it (pointing
game, energy in mask).

The seventh class, ``none``, is the cluttered background alone (empty mask). Without it one shape is
learnt by elimination: a classifier of the six shapes called 237 of 240 object-less backgrounds
"triangle" (92% confidence) and its triangle heatmaps pointed at the object on 11% of images, because
nothing in the object was what it looked for. With ``none`` every shape must be found to be named, so
the object is the evidence for every class that has one. Images of ``none`` have no evidence to point
at and are left out of pointing scores (``has_object``).

Every image is a pure function of (seed, split, index): the dataset needs no files, and the same index
always gives the same image. ``export_shapes`` writes a split to disk (PNG images, PNG masks, CSV).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..atomic import atomic_write

SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond")
CLASSES = (*SHAPES, "none")
SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class ShapesSample:
    """image: (H, W, 3) uint8 RGB; mask: (H, W) bool (the object; all False for ``none``); label: index
    into CLASSES."""

    image: np.ndarray
    mask: np.ndarray
    label: int
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 of the object, pixels; (0, 0, 0, 0) for ``none``

    @property
    def has_object(self) -> bool:
        return self.label < len(SHAPES)


def make_shapes_sample(index: int, *, split: str = "train", seed: int = 0, image_size: int = 128) -> ShapesSample:
    """The ``index``-th image of a split: deterministic in (seed, split, index)."""
    if split not in SPLITS:
        raise ValueError(f"shapes: unknown split {split!r} (valid: {', '.join(SPLITS)})")
    rng = np.random.default_rng([seed, SPLITS[split], index])
    label = int(index % len(CLASSES))
    image = _background(rng, image_size)
    _clutter(rng, image)
    if label == len(SHAPES):  # none: the background alone
        return ShapesSample(image=image, mask=np.zeros((image_size, image_size), bool), label=label, box=(0, 0, 0, 0))
    mask = _object_mask(rng, CLASSES[label], image_size)
    colour = _contrasting_colour(rng, image[mask].mean(axis=0))
    second = np.clip(colour * 0.35 + rng.uniform(0, 60, 3), 0, 255)
    stripes = _fill_pattern(label, image_size, int(rng.integers(0, 64)))
    obj = np.where(stripes[..., None], colour[None, None, :], second[None, None, :])
    image[mask] = obj[mask].astype(np.uint8)
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return ShapesSample(image=image, mask=mask, label=label, box=box)


def _fill_pattern(label: int, size: int, phase: int) -> np.ndarray:
    """The class's fill pattern, (size, size) bool: stripes of one orientation, a checkerboard or dots.
    Texture is what a CNN learns first, so each class also has its own fill (the shape still defines it
    too): the object is found and classified within minutes of CPU training."""
    period = max(3, size // 21)
    y, x = np.mgrid[0:size, 0:size] + phase
    patterns = (
        (y // (period // 2 + 1)) % 2 == 0,                          # circle: horizontal stripes
        (x // (period // 2 + 1)) % 2 == 0,                          # square: vertical stripes
        ((x + y) // (period // 2 + 1)) % 2 == 0,                    # triangle: diagonal stripes
        ((x // period) + (y // period)) % 2 == 0,                   # star: checkerboard
        ((x % period) < period // 2) & ((y % period) < period // 2),  # cross: dots
        ((x - y) // (period // 2 + 1)) % 2 == 0,                    # diamond: anti-diagonal stripes
    )
    return patterns[label]


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    corners = rng.uniform(30, 225, size=(2, 2, 3)).astype(np.float32)
    grad = cv2.resize(corners, (size, size), interpolation=cv2.INTER_LINEAR)
    coarse = rng.normal(0, 15, size=(size // 8, size // 8, 3)).astype(np.float32)
    texture = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 6, size=(size, size, 3)).astype(np.float32)
    return np.clip(grad + texture + fine, 0, 255).astype(np.uint8)


def _clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    size = image.shape[0]
    for _ in range(rng.integers(3, 8)):  # thin line segments
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.line(image, p1, p2, _colour(rng), 1, cv2.LINE_AA)
    for _ in range(rng.integers(1, 3)):  # open polylines (never closed, never filled)
        pts = rng.integers(0, size, size=(int(rng.integers(3, 6)), 2)).astype(np.int32)
        cv2.polylines(image, [pts], False, _colour(rng), 1, cv2.LINE_AA)
    for _ in range(rng.integers(5, 15)):  # dots
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.circle(image, centre, int(rng.integers(1, 3)), _colour(rng), -1, cv2.LINE_AA)


def _object_mask(rng: np.random.Generator, shape: str, size: int) -> np.ndarray:
    radius = rng.uniform(0.12, 0.17) * size  # objects 31-44 px across at 128 px
    margin = radius + 2
    cx, cy = rng.uniform(margin, size - margin, 2)
    angle = rng.uniform(-15, 15) * math.pi / 180
    canvas = np.zeros((size, size), np.uint8)
    if shape == "circle":
        cv2.circle(canvas, (round(cx), round(cy)), round(radius), 1, -1)
        return canvas.astype(bool)
    pts = _polygon(shape, radius)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pts = pts @ rot.T + np.array([cx, cy])
    cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1)
    return canvas.astype(bool)


def _polygon(shape: str, r: float) -> np.ndarray:
    if shape == "square":
        a = r * 0.85
        return np.array([[-a, -a], [a, -a], [a, a], [-a, a]])
    if shape == "diamond":
        return np.array([[0, -r], [r * 0.75, 0], [0, r], [-r * 0.75, 0]])
    if shape == "triangle":
        return np.array([[r * math.cos(t), r * math.sin(t)] for t in np.radians([-90, 30, 150])])
    if shape == "star":
        angles = np.radians(np.arange(10) * 36 - 90)
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    if shape == "cross":
        a, b = r, r * 0.33
        return np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b],
                         [b, a], [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b]])
    raise ValueError(f"unknown shape {shape!r}")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random colour at least ~90 (L2 in RGB) away from the mean background under the object."""
    for _ in range(50):
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - background) > 90:
            return colour
    return 255.0 - background


def export_shapes(out_dir: str | Path, *, count: int, split: str = "train", seed: int = 0,
                  image_size: int = 128) -> Path:
    """Write ``count`` images of a split as PNGs with their masks and a ``labels.csv`` (index, file,
    mask_file, label, class_name, x1, y1, x2, y2). Existing files are rewritten identically."""
    out = Path(out_dir) / split
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in tqdm(range(count), desc=f"shapes {split}", unit="img"):
        sample = make_shapes_sample(index, split=split, seed=seed, image_size=image_size)
        name = f"{index:06d}.png"
        cv2.imwrite(str(out / "images" / name), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(out / "masks" / name), sample.mask.astype(np.uint8) * 255)
        rows.append([index, f"images/{name}", f"masks/{name}", sample.label, CLASSES[sample.label], *sample.box])
    with atomic_write(out / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "file", "mask_file", "label", "class_name", "x1", "y1", "x2", "y2"])
        writer.writerows(rows)
    return out
