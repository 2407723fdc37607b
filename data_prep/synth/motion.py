"""Per-frame state of every person: mouth opening, blinks, head motion, gestures, occluding hand.

A speaker's mouth follows the syllable envelope of their own voice (per-person lag plus a small
per-syllable jitter); a listener's mouth is closed, or moves with a "mouthing" envelope drawn
independently of every voice. Gesture intensity rises while a person speaks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene import Person
from .speech import SpeechPlan, activity, envelope


@dataclass
class Motion:
    """(F, P) arrays (F frames, P people) unless noted."""

    mouth_open: np.ndarray  # 0..1
    blink: np.ndarray  # 0 open .. 1 closed
    head_dx: np.ndarray  # pixels
    head_dy: np.ndarray
    gesture: np.ndarray  # 0..1 intensity
    hand_phase: np.ndarray  # (F, P, 2) radians, left and right hand
    hand_over_mouth: np.ndarray  # 0..1 how far a hand is raised to the chin (FO only)
    speaking: np.ndarray  # bool, own utterance (audible or muted)
    audible: np.ndarray  # bool, own utterance audible
    mouthing: np.ndarray  # bool, out-of-step mouth movement


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return x
    k = np.hanning(n + 2)[1:-1]
    k /= k.sum()
    pad = np.pad(x, (n, n), mode="edge")
    return np.convolve(pad, k, mode="same")[n:-n]


def _blinks(rng: np.random.Generator, times_s: np.ndarray) -> np.ndarray:
    out = np.zeros(len(times_s))
    t = float(rng.uniform(0.2, 3.0))
    while t < (times_s[-1] if len(times_s) else 0):
        dur = float(rng.uniform(0.1, 0.18))
        x = (times_s - t) / dur
        out = np.maximum(out, np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0))
        t += float(rng.uniform(1.5, 6.0))
    return out


def _person_motion(rng: np.random.Generator, person: Person, index: int, plan: SpeechPlan,
                   times_s: np.ndarray, fps: float, fo: bool) -> dict[str, np.ndarray]:
    own = [u for u in plan.utterances if u.speaker == index]
    mouthing_utts = [u for u in plan.mouthings if u.speaker == index]
    speaking = activity(own, times_s)
    audible = activity([u for u in own if not u.muted], times_s)
    mouthing = activity(mouthing_utts, times_s)
    mouth = np.zeros(len(times_s))
    for utts, gain in ((own, person.articulation), (mouthing_utts, rng.uniform(0.75, 1.0))):
        syllables = [s for u in utts for s in u.syllables]
        lags = person.lag_s + np.clip(rng.normal(0, 0.012, size=len(syllables)), -0.03, 0.03)
        mouth += gain * envelope(syllables, times_s, lags)
    mouth += 0.02 * _smooth(rng.normal(0, 1, size=len(times_s)), max(1, int(fps * 0.3)))
    t = times_s
    sway = person.face_w * 0.04
    phase = rng.uniform(0, 2 * np.pi, size=4)
    head_dx = sway * (np.sin(2 * np.pi * 0.23 * t + phase[0]) + 0.5 * np.sin(2 * np.pi * 0.61 * t + phase[1]))
    nod = _smooth(mouth, max(1, int(fps * 0.25))) * person.face_h * 0.04
    head_dy = 0.5 * sway * np.sin(2 * np.pi * 0.17 * t + phase[2]) + nod
    drive = _smooth(speaking.astype(float), max(1, int(fps * 0.8)))
    gesture = np.clip(0.08 + 0.75 * drive * rng.uniform(0.6, 1.0)
                      + 0.1 * _smooth(rng.normal(0, 1, size=len(t)), max(1, int(fps))), 0, 1)
    rate = person.gesture_rate_hz * (1 + 0.2 * _smooth(rng.normal(0, 1, size=len(t)), max(1, int(fps))))
    hand_phase = np.stack([np.cumsum(2 * np.pi * rate / fps) + phase[3],
                           np.cumsum(2 * np.pi * rate * 1.13 / fps) + phase[0]], axis=1)
    hand_over = np.zeros(len(t))
    if fo and rng.random() < 0.5:  # a hand raised to the chin now and then
        start = float(rng.uniform(0, max(0.1, t[-1] - 1.5))) if len(t) else 0.0
        hand_over = np.clip(1.0 - np.abs(t - start - 0.8) / 0.8, 0, 1) ** 0.5
    return {"mouth_open": np.clip(mouth, 0, 1), "blink": _blinks(rng, t), "head_dx": head_dx,
            "head_dy": head_dy, "gesture": gesture, "hand_phase": hand_phase, "hand_over_mouth": hand_over,
            "speaking": speaking, "audible": audible, "mouthing": mouthing}


def make_motion(rng: np.random.Generator, people: list[Person], plan: SpeechPlan, times_s: np.ndarray,
                fps: float, fo: bool) -> Motion:
    """Per-frame states of all people (index = position in ``people``)."""
    per = [_person_motion(rng, p, k, plan, times_s, fps, fo) for k, p in enumerate(people)]
    return Motion(**{key: np.stack([d[key] for d in per], axis=1) for key in per[0]})
