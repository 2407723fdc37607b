"""Training augmentation as the field does it (TalkNet / Light-ASD / BIAS), deterministic given an RNG.

Video (per modality, one choice per track): original, horizontal flip, random crop (a square of 70-100 % of
the side, resized back) or rotation by U(-15, 15) degrees, each with probability 1/4, the same for every
frame of the track. Audio (probability 1/2): add another track's audio scaled to an SNR of U(-5, 5) dB.

Clip shift (``random_shift``, its own RNG stream): the whole clip moved by up to N pixels in x and y, the
same for every frame, so the mouth is not always at the same place of the crop (a face box that jitters).

Modality dropout (``choose_blank``, separate from the above and from its RNG stream): with probability p
per clip, one modality (uniform over the candidates) is replaced by its blank, the label kept - face / body
crops at the normalisation mean (0 after normalising: flat mean grey), audio features at 0. These are the
blanks ``asd_explain.explain.av.explain_track_arrays(blank=...)`` feeds, so the model has seen a missing
sense before it is asked to explain one.
"""
from __future__ import annotations

import cv2
import numpy as np

VIDEO_AUGMENTATIONS = ("orig", "flip", "crop", "rotate")


def augment_frames(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``(T, H, W[, C]) uint8`` -> same shape, and the name of the augmentation applied."""
    kind = VIDEO_AUGMENTATIONS[int(rng.integers(len(VIDEO_AUGMENTATIONS)))]
    height, width = frames.shape[1:3]
    if kind == "flip":
        return np.ascontiguousarray(frames[:, :, ::-1]), kind
    if kind == "crop":
        side = int(min(height, width) * rng.uniform(0.7, 1.0))
        y = int(rng.integers(0, height - side + 1))
        x = int(rng.integers(0, width - side + 1))
        out = np.stack([cv2.resize(f[y:y + side, x:x + side], (width, height), interpolation=cv2.INTER_LINEAR)
                        for f in frames])
        return out.reshape(frames.shape), kind
    if kind == "rotate":
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), float(rng.uniform(-15.0, 15.0)), 1.0)
        out = np.stack([cv2.warpAffine(f, matrix, (width, height)) for f in frames])
        return out.reshape(frames.shape), kind
    return frames, kind


def shift_frames(frames: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``(T, H, W[, C])`` moved by (dx, dy) pixels (right / down positive), the edge pixels repeated into the gap."""
    height, width = frames.shape[1:3]
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError(f"shift ({dx}, {dy}) is not smaller than the {width}x{height} frames")
    pad = [(0, 0), (max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))] + [(0, 0)] * (frames.ndim - 3)
    padded = np.pad(frames, pad, mode="edge")
    top, left = max(-dy, 0), max(-dx, 0)
    return np.ascontiguousarray(padded[:, top:top + height, left:left + width])


def random_shift(frames: np.ndarray, max_px: int, rng: np.random.Generator) -> np.ndarray:
    """One shift for the whole clip, dx and dy uniform integers in [-max_px, max_px]; always draws two."""
    dx, dy = (int(v) for v in rng.integers(-max_px, max_px + 1, size=2))
    return shift_frames(frames, dx, dy)


def choose_blank(modalities, p: float, rng: np.random.Generator) -> str | None:
    """With probability ``p`` one of ``modalities`` (uniform), else None; always draws two numbers."""
    modalities = tuple(modalities)
    drop, which = rng.random(), int(rng.integers(max(len(modalities), 1)))
    if not modalities or drop >= p:
        return None
    return modalities[which]


def mix_at_snr(audio: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``audio + g * noise`` with ``g`` such that the power ratio audio : scaled noise is ``snr_db``.

    ``noise`` is repeated (wrapped) or cut to ``len(audio)``; int16 in, int16 out (clipped).
    """
    if len(noise) == 0 or len(audio) == 0:
        return audio
    noise = np.resize(noise.astype(np.float64), len(audio))
    clean = audio.astype(np.float64)
    clean_power = np.mean(clean ** 2) + 1e-4
    noise_power = np.mean(noise ** 2) + 1e-4
    gain = np.sqrt(clean_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    mixed = clean + gain * noise
    if audio.dtype == np.int16:
        return np.clip(np.round(mixed), -32768, 32767).astype(np.int16)
    return mixed.astype(audio.dtype)


def maybe_mix_audio(audio: np.ndarray, noise_source, rng: np.random.Generator) -> np.ndarray:
    """With probability 1/2 mix ``noise_source()`` (another track's audio) at SNR U(-5, 5) dB."""
    if rng.random() >= 0.5:
        return audio
    return mix_at_snr(audio, noise_source(), float(rng.uniform(-5.0, 5.0)))
