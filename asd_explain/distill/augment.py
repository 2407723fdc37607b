"""Training clips: a random window of a prepared track, augmented; its MFCC recomputed from the audio.

A clip is ``face_maps (T, 128, 14, 14) float16`` (the frozen visual encoder's map of one of the track's
face versions, see ``data.face_map_variants``: the face augmentation) + ``mfcc (4T, 13) float32`` from the
augmented audio + what was heard (``kind``: "own", "swapped" = another track's audio, "silence"). The
teacher scores the very same augmented clip, so any augmentation is allowed: the target follows it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..pretrained_inputs.prepare import track_mfcc
from .config import AugmentConfig
from .track import SAMPLES_PER_FRAME, Track

INT16_MAX = 32767.0
SILENCE_NOISE_RMS = 3.0  # int16 units: a quiet room, not digital zero


@dataclass
class Clip:
    face_maps: np.ndarray
    mfcc: np.ndarray
    kind: str


def augment_faces(faces: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """(T, H, W) uint8 -> (T, H, W) uint8: one flip, shift/scale and grey-level change for the whole clip."""
    out = faces[:, :, ::-1] if rng.random() < cfg.flip_p else faces
    height, width = out.shape[1:]
    scale = 1.0 + rng.uniform(-cfg.scale_jitter, cfg.scale_jitter)
    matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), 0.0, scale)
    matrix[:, 2] += rng.uniform(-cfg.shift_px, cfg.shift_px, size=2)
    warped = np.stack([cv2.warpAffine(np.ascontiguousarray(f), matrix, (width, height), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE) for f in out])
    contrast = 1.0 + rng.uniform(-cfg.contrast_jitter, cfg.contrast_jitter)
    brightness = rng.uniform(-cfg.brightness_levels, cfg.brightness_levels)
    grey = (warped.astype(np.float32) - 128.0) * contrast + 128.0 + brightness
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def augment_audio(audio: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """(N,) int16 -> (N,) int16: gain, then white noise at a random SNR (with probability noise_p)."""
    x = audio.astype(np.float64) * 10.0 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 20.0)
    if rng.random() < cfg.noise_p:
        power = max(float(np.mean(x * x)), SILENCE_NOISE_RMS ** 2)
        snr_db = rng.uniform(*cfg.snr_db)
        x = x + rng.normal(0.0, np.sqrt(power / 10.0 ** (snr_db / 10.0)), size=x.shape)
    return np.clip(np.rint(x), -INT16_MAX - 1, INT16_MAX).astype(np.int16)


def audio_window(track: Track, start: int, frames: int) -> np.ndarray:
    """(640 frames,) int16 of ``track`` from video frame ``start``, tiled when the track is shorter."""
    audio = track.audio
    want = SAMPLES_PER_FRAME * frames
    if len(audio) < want:
        audio = np.tile(audio, -(-want // max(len(audio), 1)))
    first = SAMPLES_PER_FRAME * start
    first = min(first, len(audio) - want)
    return audio[first:first + want]


def choose_audio(tracks: list[Track], k: int, start: int, frames: int, stop_frame: list[int],
                 rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, str]:
    """The clip's augmented audio: its own, another track's (another video's when possible), or silence
    (quiet noise). A track without sound always gets another track's audio or silence.
    ``stop_frame[j]``: audio may be taken from frames ``[0, stop_frame[j])`` of track j (its training part)."""
    track = tracks[k]
    others = [j for j, t in enumerate(tracks) if j != k and t.has_audio]
    other_videos = [j for j in others if tracks[j].video != track.video]
    draw = rng.random()
    if not track.has_audio:
        kind = "swapped" if draw < 0.5 and others else "silence"
    elif draw < cfg.swap_audio_p and others:
        kind = "swapped"
    elif draw < cfg.swap_audio_p + cfg.silence_p:
        kind = "silence"
    else:
        return augment_audio(audio_window(track, start, frames), rng, cfg), "own"
    if kind == "silence":
        noise = rng.normal(0.0, SILENCE_NOISE_RMS, size=SAMPLES_PER_FRAME * frames)
        return np.clip(np.rint(noise), -8 * SILENCE_NOISE_RMS, 8 * SILENCE_NOISE_RMS).astype(np.int16), kind
    j = int(rng.choice(other_videos or others))
    begin = int(rng.integers(0, max(1, stop_frame[j] - frames + 1)))
    return augment_audio(audio_window(tracks[j], begin, frames), rng, cfg), kind


def make_clip(tracks: list[Track], k: int, start: int, frames: int, stop_frame: list[int],
              rng: np.random.Generator, cfg: AugmentConfig) -> Clip:
    """Frames ``[start, start + frames)`` of track ``k``: one of its face versions' maps, and MFCC
    (4 frames, 13) recomputed from the augmented audio."""
    maps = tracks[k].face_maps
    if maps is None:
        raise ValueError(f"{tracks[k].name}: face maps not computed (data.attach_face_maps)")
    variant = int(rng.integers(0, len(maps)))
    audio, kind = choose_audio(tracks, k, start, frames, stop_frame, rng, cfg)
    return Clip(maps[variant, start:start + frames], track_mfcc(audio, frames), kind)


def sample_clips(tracks: list[Track], stop_frame: list[int], count: int, clip_s: tuple[float, float],
                 rng: np.random.Generator, cfg: AugmentConfig, fps: float = 25.0) -> list[Clip]:
    """``count`` augmented clips of one common length drawn in ``clip_s`` seconds (capped by the longest
    training part), each from a track chosen in proportion to its training frames."""
    longest = max(stop_frame)
    frames = min(int(round(rng.uniform(*clip_s) * fps)), longest)
    usable = np.array([s if s >= frames else 0 for s in stop_frame], np.float64)
    clips = []
    for _ in range(count):
        k = int(rng.choice(len(tracks), p=usable / usable.sum()))
        start = int(rng.integers(0, stop_frame[k] - frames + 1))
        clips.append(make_clip(tracks, k, start, frames, stop_frame, rng, cfg))
    return clips
