"""Who speaks when: turns, words, syllables, muted turns and distractor mouthing.

The plan is pure timing (seconds); ``voices`` turns it into sound and ``motion`` into mouth openings.
An utterance is one turn of one speaker: words of 1-4 syllables (3-6 syllables per second) separated
by short pauses. Its span is what the labels call speaking. Speaker index -1 is the off-screen voice.
A "mouthing" is a silent, out-of-step mouth movement of a listener (chewing, murmuring): same syllable
statistics, drawn independently of every voice.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OFFSCREEN = -1


@dataclass
class Syllable:
    onset_s: float
    duration_s: float
    peak: float  # 0..1 loudness / mouth opening
    vowel: int  # index into voices.VOWEL_FORMANTS_HZ


@dataclass
class Utterance:
    speaker: int  # person index, or OFFSCREEN
    start_s: float
    end_s: float
    muted: bool = False
    syllables: list[Syllable] = field(default_factory=list)


@dataclass
class CategoryStyle:
    overlap_prob: float  # chance that the next turn starts before this one ends
    mute_prob: float  # chance that an on-screen turn is muted (SPEAKING_NOT_AUDIBLE)
    gap_s: tuple[float, float]  # silence between turns
    snr_db: tuple[float, float]  # speech to background-noise ratio
    offscreen_prob: float  # chance of an off-screen voice taking turns
    music_prob: float  # chance of background music


STYLES = {
    "OC": CategoryStyle(0.05, 0.06, (0.25, 1.2), (18.0, 30.0), 0.0, 0.0),
    "SI": CategoryStyle(0.45, 0.08, (0.1, 0.8), (6.0, 14.0), 0.0, 0.0),
    "FO": CategoryStyle(0.10, 0.06, (0.2, 1.0), (14.0, 26.0), 0.0, 0.0),
    "HVN": CategoryStyle(0.10, 0.06, (0.2, 1.0), (10.0, 20.0), 0.7, 0.5),
    "SS": CategoryStyle(0.10, 0.06, (0.2, 1.2), (8.0, 18.0), 0.0, 0.0),
}


@dataclass
class SpeechPlan:
    utterances: list[Utterance]
    mouthings: list[Utterance]
    has_offscreen_voice: bool
    has_music: bool
    snr_db: float


def _syllables(rng: np.random.Generator, start_s: float, end_s: float, rate_hz: float) -> list[Syllable]:
    """Words of 1-4 syllables filling [start_s, end_s); pauses of 40-220 ms between words."""
    out: list[Syllable] = []
    t = start_s
    while t < end_s - 0.1:
        for _ in range(int(rng.integers(1, 5))):
            dur = float(np.clip(rng.normal(1.0 / rate_hz, 0.25 / rate_hz), 0.09, 0.35))
            if t + dur > end_s:
                break
            out.append(Syllable(t, dur, float(rng.uniform(0.45, 1.0)), int(rng.integers(6))))
            t += dur
        t += float(rng.uniform(0.04, 0.22))
    return out


def _turns(rng: np.random.Generator, speakers: list[int], weights: np.ndarray, seconds: float,
           style: CategoryStyle) -> list[Utterance]:
    """Alternating turns; sometimes the next speaker starts before the current one stops."""
    turns: list[Utterance] = []
    busy_until = np.zeros(len(speakers))
    t = float(rng.uniform(0.0, 0.8))
    previous = -1
    while t < seconds - 0.5:
        w = np.where(busy_until <= t, weights, 0.0)
        if previous >= 0 and len(speakers) > 1:
            w[previous] = 0.0
        if w.sum() == 0:
            t = float(busy_until.min()) + 0.05
            continue
        choice = int(rng.choice(len(speakers), p=w / w.sum()))
        end = min(seconds, t + float(rng.uniform(0.9, 3.6)))
        turns.append(Utterance(speakers[choice], t, end))
        busy_until[choice] = end + 0.1
        previous = choice
        if len(speakers) > 1 and rng.random() < style.overlap_prob:
            t = max(t + 0.3, end - float(rng.uniform(0.3, 1.2)))
        else:
            gap = style.gap_s if len(speakers) > 1 else (style.gap_s[0] + 0.4, style.gap_s[1] + 1.5)
            t = end + float(rng.uniform(*gap))
    return turns


def _mouthings(rng: np.random.Generator, person: int, busy: list[tuple[float, float]], seconds: float,
               propensity: float) -> list[Utterance]:
    """Silent mouth movements of a listener in its own free time (>= 0.3 s away from its turns)."""
    out: list[Utterance] = []
    t = float(rng.uniform(0.0, 1.0))
    while t < seconds - 0.5:
        dur = float(rng.uniform(0.5, 2.5))
        end = min(seconds, t + dur)
        free = all(end + 0.3 <= b0 or t >= b1 + 0.3 for b0, b1 in busy)
        if free and rng.random() < propensity:
            m = Utterance(person, t, end, muted=True)
            if rng.random() < 0.3:  # chewing: regular, slower
                rate = float(rng.uniform(1.4, 2.2))
                n = int((end - t) * rate)
                m.syllables = [Syllable(t + k / rate, 0.9 / rate, float(rng.uniform(0.45, 0.9)), 0)
                               for k in range(n)]
            else:  # murmuring / lip-syncing nothing audible
                m.syllables = _syllables(rng, t, end, float(rng.uniform(3.0, 6.0)))
            if m.syllables:
                m.start_s = m.syllables[0].onset_s
                m.end_s = m.syllables[-1].onset_s + m.syllables[-1].duration_s
                out.append(m)
            t = end + 0.4
        else:
            t += float(rng.uniform(0.3, 1.0))
    return out


def plan_speech(rng: np.random.Generator, n_people: int, seconds: float, category: str) -> SpeechPlan:
    """Turns of the on-screen people (and maybe an off-screen voice), their syllables, and mouthings."""
    style = STYLES[category]
    has_offscreen = bool(rng.random() < style.offscreen_prob)
    has_music = bool(rng.random() < style.music_prob) or (category == "HVN" and not has_offscreen)
    speakers = list(range(n_people)) + ([OFFSCREEN] if has_offscreen else [])
    weights = rng.uniform(0.5, 1.5, size=len(speakers))
    if has_offscreen:
        weights[-1] = 0.6 * weights[:-1].mean()
    turns = _turns(rng, speakers, weights, seconds, style)
    rates = rng.uniform(3.5, 5.5, size=n_people + 1)
    for turn in turns:
        turn.syllables = _syllables(rng, turn.start_s, turn.end_s, float(rates[turn.speaker]))
        if turn.syllables:
            turn.end_s = turn.syllables[-1].onset_s + turn.syllables[-1].duration_s
            turn.start_s = turn.syllables[0].onset_s
        turn.muted = turn.speaker != OFFSCREEN and bool(rng.random() < style.mute_prob)
    turns = [t for t in turns if t.syllables]
    mouthings = []
    for person in range(n_people):
        busy = [(u.start_s, u.end_s) for u in turns if u.speaker == person]
        mouthings += _mouthings(rng, person, busy, seconds, float(rng.uniform(0.35, 0.8)))
    return SpeechPlan(turns, mouthings, has_offscreen, has_music, float(rng.uniform(*style.snr_db)))


def syllable_shape(x: np.ndarray) -> np.ndarray:
    """Envelope of one syllable over its normalised time x in [0, 1]: fast rise, slower fall."""
    x = np.clip(x, 0.0, 1.0)
    return np.sin(np.pi * x**0.7) ** 1.5


def envelope(syllables: list[Syllable], times_s: np.ndarray, lags_s: np.ndarray | None = None) -> np.ndarray:
    """(T,) sum of syllable envelopes at ``times_s``; ``lags_s`` (one per syllable) delays each one."""
    env = np.zeros(len(times_s), dtype=np.float64)
    if len(times_s) == 0:
        return env
    step = times_s[1] - times_s[0] if len(times_s) > 1 else 1.0
    for k, syl in enumerate(syllables):
        onset = syl.onset_s + (0.0 if lags_s is None else float(lags_s[k]))
        i0 = max(0, int(np.floor((onset - times_s[0]) / step)))
        i1 = min(len(times_s), int(np.ceil((onset + syl.duration_s - times_s[0]) / step)) + 1)
        if i1 > i0:
            x = (times_s[i0:i1] - onset) / syl.duration_s
            env[i0:i1] += syl.peak * syllable_shape(x) * ((x > 0) & (x < 1))
    return np.minimum(env, 1.0)


def activity(utterances: list[Utterance], times_s: np.ndarray) -> np.ndarray:
    """(T,) bool: a time lies inside one of the utterances."""
    out = np.zeros(len(times_s), dtype=bool)
    for u in utterances:
        out |= (times_s >= u.start_s) & (times_s < u.end_s)
    return out
