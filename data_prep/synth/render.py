"""Drawing one frame: people (body, arms, head, eyes, mouth) over the background, then the camera.

Geometry is computed in output pixels (``person_geometry``) and gives the evidence boxes (face, mouth,
gesture region, body); drawing uses OpenCV primitives with 4 fractional bits so that small mouth
movements change pixels smoothly. SS videos are drawn at 1/k size and scaled up (low resolution).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .scene import Camera, Person

SHIFT = 4
ONE = 1 << SHIFT
CAVITY_RGB = (70, 22, 28)
TEETH_RGB = (232, 228, 214)


@dataclass
class Geometry:
    """Key points (x, y) and boxes (x1, y1, x2, y2) of one person in one frame, output pixels."""

    head: tuple[float, float]
    mouth: tuple[float, float]
    shoulders: tuple[tuple[float, float], tuple[float, float]]
    elbows: tuple[tuple[float, float], tuple[float, float]]
    hands: tuple[tuple[float, float], tuple[float, float]]
    face_box: tuple[float, float, float, float]
    mouth_box: tuple[float, float, float, float]
    gesture_box: tuple[float, float, float, float]
    body_box: tuple[float, float, float, float]


def person_geometry(p: Person, head_dx: float, head_dy: float, gesture: float, hand_phase: np.ndarray,
                    hand_over: float, mouth_open: float, cam: np.ndarray) -> Geometry:
    """Where the parts of ``p`` are in this frame (camera offset ``cam`` (2,) included)."""
    w, h = p.face_w, p.face_h
    hx, hy = p.cx + head_dx + cam[0], p.cy + head_dy + cam[1]
    bx = p.cx + 0.5 * head_dx + cam[0]
    sy = p.cy + 0.78 * h + 0.5 * head_dy + cam[1]
    shoulders, elbows, hands = [], [], []
    for side, phase in ((-1, hand_phase[0]), (1, hand_phase[1])):
        shoulder = np.array([bx + side * 0.85 * w, sy + 0.2 * h])
        rest = np.array([bx + side * 0.55 * w, sy + 1.9 * h])
        raised = np.array([bx + side * (0.95 + 0.3 * np.sin(phase)) * w, sy + (0.75 + 0.35 * np.cos(phase)) * h])
        hand = (1 - gesture) * rest + gesture * raised
        if side == 1 and hand_over > 0:
            hand = (1 - hand_over) * hand + hand_over * np.array([hx + 0.08 * w, hy + 0.5 * h])
        elbow = 0.5 * (shoulder + hand) + np.array([side * 0.35 * w, 0.1 * h])
        shoulders.append(tuple(shoulder))
        elbows.append(tuple(elbow))
        hands.append(tuple(hand))
    pts = np.array(shoulders + elbows + hands)
    pad = 0.2 * w
    gesture_box = (pts[:, 0].min() - pad, pts[:, 1].min() - pad, pts[:, 0].max() + pad, pts[:, 1].max() + pad)
    face_box = (hx - 0.56 * w, hy - 0.58 * h, hx + 0.56 * w, hy + 0.55 * h)
    my = hy + 0.28 * h
    mh = 0.035 * h + 0.1 * h * mouth_open
    mouth_box = (hx - 0.21 * w, my - mh - 0.01 * h, hx + 0.21 * w, my + mh + 0.01 * h)
    torso_box = (bx - 1.15 * w, sy, bx + 1.15 * w, sy + 2.6 * h)
    boxes = np.array([face_box, torso_box, gesture_box])
    body_box = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
    return Geometry((hx, hy), (hx, my), tuple(shoulders), tuple(elbows), tuple(hands), face_box, mouth_box,
                    gesture_box, body_box)


def _pt(x: float, y: float, s: float) -> tuple[int, int]:
    return int(round(x * s * ONE)), int(round(y * s * ONE))


def _ellipse(img, c, axes, color, s, start=0, end=360, thickness=-1) -> None:
    ax = (max(1, int(round(axes[0] * s * ONE))), max(1, int(round(axes[1] * s * ONE))))
    cv2.ellipse(img, _pt(c[0], c[1], s), ax, 0, start, end, color, thickness, cv2.LINE_AA, SHIFT)


def _line(img, a, b, color, width, s) -> None:
    cv2.line(img, _pt(a[0], a[1], s), _pt(b[0], b[1], s), color, max(1, int(round(width * s))), cv2.LINE_AA,
             SHIFT)


def _shade(color, k: float) -> tuple[int, int, int]:
    return tuple(int(min(255, c * k)) for c in color)


def draw_body(img: np.ndarray, p: Person, g: Geometry, s: float) -> None:
    """Long hair behind, neck and torso."""
    w, h = p.face_w, p.face_h
    hx, hy = g.head
    if p.hair_style == 1:
        _ellipse(img, (hx, hy + 0.2 * h), (0.62 * w, 0.8 * h), p.hair, s)
    _line(img, (hx, hy + 0.3 * h), (hx, hy + 0.85 * h), _shade(p.skin, 0.85), 0.42 * w, s)
    (lx, ly), (rx, ry) = g.shoulders
    torso = np.array([[hx - 0.3 * w, hy + 0.72 * h], [lx - 0.1 * w, ly - 0.05 * h], [lx - 0.3 * w, ly + 2.5 * h],
                      [rx + 0.3 * w, ry + 2.5 * h], [rx + 0.1 * w, ry - 0.05 * h], [hx + 0.3 * w, hy + 0.72 * h]])
    cv2.fillPoly(img, [np.round(torso * s * ONE).astype(np.int32)], p.shirt, cv2.LINE_AA, SHIFT)
    _line(img, (hx - 0.22 * w, hy + 0.74 * h), (hx, hy + 0.95 * h), _shade(p.shirt, 0.6), 0.05 * w, s)
    _line(img, (hx + 0.22 * w, hy + 0.74 * h), (hx, hy + 0.95 * h), _shade(p.shirt, 0.6), 0.05 * w, s)


def draw_head(img: np.ndarray, p: Person, g: Geometry, mouth_open: float, blink: float, s: float) -> None:
    """Ears, face, hair, brows, eyes (with blinks), nose, beard, mouth, glasses."""
    w, h = p.face_w, p.face_h
    hx, hy = g.head
    for side in (-1, 1):
        _ellipse(img, (hx + side * 0.5 * w, hy + 0.02 * h), (0.08 * w, 0.13 * h), _shade(p.skin, 0.9), s)
    _ellipse(img, (hx, hy), (0.5 * w, 0.5 * h), p.skin, s)
    if p.hair_style != 2:
        _ellipse(img, (hx, hy - 0.16 * h), (0.53 * w, 0.38 * h), p.hair, s, 180, 360)
    if p.hair_style == 3:
        _ellipse(img, (hx, hy - 0.56 * h), (0.17 * w, 0.12 * h), p.hair, s)
    for side in (-1, 1):
        ex, ey = hx + side * 0.21 * w, hy - 0.05 * h
        _line(img, (ex - 0.1 * w, ey - 0.12 * h), (ex + 0.1 * w, ey - 0.13 * h), _shade(p.hair, 0.9), 0.05 * w, s)
        _ellipse(img, (ex, ey), (0.1 * w, 0.05 * h), (240, 238, 232), s)
        _ellipse(img, (ex, ey), (0.045 * w, 0.045 * w), p.eyes, s)
        _ellipse(img, (ex, ey), (0.02 * w, 0.02 * w), (15, 12, 12), s)
        if blink > 0.05:
            top = ey - 0.065 * h
            cv2.rectangle(img, _pt(ex - 0.12 * w, top, s), _pt(ex + 0.12 * w, top + blink * 0.125 * h, s),
                          p.skin, -1, cv2.LINE_AA, SHIFT)
            _line(img, (ex - 0.1 * w, top + blink * 0.12 * h), (ex + 0.1 * w, top + blink * 0.12 * h),
                  (40, 30, 30), 0.02 * w, s)
    nose = _shade(p.skin, 0.75)
    _line(img, (hx, hy + 0.0 * h), (hx - 0.05 * w, hy + 0.15 * h), nose, 0.035 * w, s)
    _line(img, (hx - 0.05 * w, hy + 0.15 * h), (hx + 0.04 * w, hy + 0.16 * h), nose, 0.035 * w, s)
    if p.beard:
        _ellipse(img, (hx, hy + 0.26 * h), (0.42 * w, 0.26 * h), p.hair, s, 0, 180)
    draw_mouth(img, p, g.mouth, mouth_open, s)
    if p.glasses:
        for side in (-1, 1):
            _ellipse(img, (hx + side * 0.21 * w, hy - 0.05 * h), (0.14 * w, 0.1 * h), (30, 30, 35), s,
                     thickness=max(1, int(round(0.03 * w * s))))
        _line(img, (hx - 0.07 * w, hy - 0.06 * h), (hx + 0.07 * w, hy - 0.06 * h), (30, 30, 35), 0.03 * w, s)


def draw_mouth(img: np.ndarray, p: Person, mouth: tuple[float, float], opening: float, s: float) -> None:
    """Lips whose height grows with ``opening`` (0..1), a dark cavity and upper teeth when open."""
    w, h = p.face_w, p.face_h
    mx, my = mouth
    _ellipse(img, (mx, my), (0.19 * w, 0.035 * h + 0.1 * h * opening), p.lips, s)
    if opening > 0.03:
        cav = 0.085 * h * opening
        _ellipse(img, (mx, my), (0.15 * w, cav), CAVITY_RGB, s)
        if opening > 0.25:
            _ellipse(img, (mx, my - cav), (0.1 * w, 0.3 * cav), TEETH_RGB, s, 0, 180)
    else:
        _line(img, (mx - 0.16 * w, my), (mx + 0.16 * w, my), _shade(p.lips, 0.6), 0.02 * h, s)


def draw_arms(img: np.ndarray, p: Person, g: Geometry, s: float) -> None:
    """Sleeves (shoulder-elbow-hand) and hands."""
    sleeve = _shade(p.shirt, 0.85)
    for shoulder, elbow, hand in zip(g.shoulders, g.elbows, g.hands, strict=True):
        _line(img, shoulder, elbow, sleeve, 0.34 * p.face_w, s)
        _line(img, elbow, hand, sleeve, 0.28 * p.face_w, s)
        _ellipse(img, hand, (0.14 * p.face_w, 0.16 * p.face_w), p.skin, s)


def draw_microphone(img: np.ndarray, p: Person, g: Geometry, s: float) -> None:
    """FO: a microphone on a stand, its head over one corner of the mouth."""
    w, h = p.face_w, p.face_h
    hx, hy = g.head
    top = (hx + 0.3 * w, hy + 0.36 * h)
    _line(img, top, (hx + 0.5 * w, hy + 1.6 * h), (35, 35, 38), 0.07 * w, s)
    _ellipse(img, top, (0.16 * w, 0.13 * h), (50, 50, 55), s)
    _ellipse(img, top, (0.16 * w, 0.13 * h), (95, 95, 100), s, thickness=max(1, int(round(0.03 * w * s))))


def finish_frame(img: np.ndarray, camera: Camera, out_size: tuple[int, int],
                 noise: tuple[np.ndarray, np.ndarray], osd_text: str | None) -> np.ndarray:
    """Blur, upscale a low-resolution render, add sensor noise (uint8 (+, -) parts) and an on-screen clock."""
    if camera.blur_sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), camera.blur_sigma)
    if img.shape[1] != out_size[0] or img.shape[0] != out_size[1]:
        img = cv2.resize(img, out_size, interpolation=cv2.INTER_LINEAR)
    img = cv2.subtract(cv2.add(img, noise[0]), noise[1])
    if osd_text:
        scale = out_size[1] / 720
        cv2.putText(img, osd_text, (int(24 * scale), int(60 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale * 1.2, (235, 235, 235), max(1, int(2 * scale)), cv2.LINE_AA)
    return img


def noise_frames(rng: np.random.Generator, sigma: float, width: int, height: int, n: int = 6
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` pairs of uint8 (positive, negative) parts of Gaussian sensor noise, reused in turn."""
    out = []
    for _ in range(n):
        noise = np.round(rng.normal(0, sigma, size=(height, width, 1))).repeat(3, axis=2)
        out.append((np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)))
    return out
