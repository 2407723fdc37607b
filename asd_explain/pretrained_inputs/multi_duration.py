"""Per-frame scores averaged over windows of several durations, as the authors' demo scores a face track.

For each duration ``d`` (seconds) the track is cut into consecutive windows of ``d * fps`` video frames
(``4 d fps`` MFCC frames; the last window is shorter), the model scores each window on its own, and the
per-frame logits are concatenated back to the track's length. Each frame's score is the mean over the
durations. Before cutting, track and audio are trimmed to a common length as the authors do:
``T = round(min((A - A % 4) / 100, V / 25) * 25)`` video frames and ``4 T`` audio frames.

Durations. The authors' code writes the list as a Python *set literal*, ``{1, 1, 1, 2, 2, 2, 3, 3, 4, 5,
6}``, which Python collapses to ``{1, 2, 3, 4, 5, 6}``: their demo averages six runs, each duration once,
and its comment ("more reliable") suggests the repetitions were meant to weigh more. ``AUTHORS_DURATIONS_S``
is what their code runs (the default, to reproduce their scores); ``LISTED_DURATIONS_S`` keeps the
repetitions (11 runs, 1 s windows weighing 3/11). Their demo then rounds the mean to 1 decimal
(``round_decimals=1``; off by default).

``model_fn(faces (1, t, 112, 112), mfcc (1, 4 t, 13)) -> (1, t)`` logits is any model with the Light-ASD
input contract; faces are passed as given (uint8 or already normalised, the caller decides).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

AUTHORS_DURATIONS_S: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
LISTED_DURATIONS_S: tuple[int, ...] = (1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6)
AUDIO_FRAMES_PER_VIDEO_FRAME = 4

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def common_length(n_video: int, n_audio: int, fps: float = 25.0, audio_hz: float = 100.0) -> int:
    """Video frames the authors keep: ``round(min((A - A % 4) / audio_hz, V / fps) * fps)``."""
    seconds = min((n_audio - n_audio % AUDIO_FRAMES_PER_VIDEO_FRAME) / audio_hz, n_video / fps)
    return int(round(seconds * fps))


def window_starts(n_frames: int, window_frames: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` video-frame windows covering ``[0, n_frames)``; the last may be shorter."""
    return [(s, min(s + window_frames, n_frames)) for s in range(0, n_frames, window_frames)]


@torch.no_grad()
def scores_for_duration(model_fn: ModelFn, faces: torch.Tensor, mfcc: torch.Tensor, duration_s: float,
                        fps: float = 25.0) -> torch.Tensor:
    """``faces (1, T, H, W)``, ``mfcc (1, 4T, 13)`` -> ``(T,)`` logits from windows of ``duration_s``."""
    window = int(round(duration_s * fps))
    if window < 1:
        raise ValueError(f"duration {duration_s} s is shorter than one frame at {fps} fps")
    pieces = []
    for start, stop in window_starts(faces.shape[1], window):
        a0, a1 = AUDIO_FRAMES_PER_VIDEO_FRAME * start, AUDIO_FRAMES_PER_VIDEO_FRAME * stop
        out = model_fn(faces[:, start:stop], mfcc[:, a0:a1])
        if tuple(out.shape) != (1, stop - start):
            raise ValueError(f"model_fn returned shape {tuple(out.shape)} for a window of {stop - start} frames "
                             f"(expected (1, {stop - start}))")
        pieces.append(out[0].float())
    return torch.cat(pieces)


def multi_duration_scores(model_fn: ModelFn, faces: torch.Tensor | np.ndarray, mfcc: torch.Tensor | np.ndarray,
                          durations_s: Sequence[float] = AUTHORS_DURATIONS_S, *, fps: float = 25.0,
                          round_decimals: int | None = None) -> np.ndarray:
    """Per-frame mean logit over ``durations_s`` runs: ``faces (1, V, H, W)``, ``mfcc (1, A, 13)`` -> ``(T,)``
    float32 with ``T = common_length(V, A)`` (the authors' trim; a duration listed twice counts twice)."""
    faces = torch.as_tensor(faces)
    mfcc = torch.as_tensor(mfcc)
    if faces.ndim != 4 or mfcc.ndim != 3 or faces.shape[0] != 1 or mfcc.shape[0] != 1:
        raise ValueError(f"expected faces (1, T, H, W) and mfcc (1, 4T, C), got {tuple(faces.shape)} "
                         f"and {tuple(mfcc.shape)}")
    if not durations_s:
        raise ValueError("durations_s is empty")
    n = common_length(faces.shape[1], mfcc.shape[1], fps)
    if n == 0:
        return np.zeros(0, np.float32)
    faces, mfcc = faces[:, :n], mfcc[:, :AUDIO_FRAMES_PER_VIDEO_FRAME * n]
    runs = torch.stack([scores_for_duration(model_fn, faces, mfcc, d, fps) for d in durations_s])
    mean = runs.mean(0).cpu().numpy().astype(np.float32)
    return np.round(mean, round_decimals) if round_decimals is not None else mean


def staged_model_fn(model) -> ModelFn:
    """``model_fn`` for a model with the toolkit's staged forwards and ``preprocessing.normalise_faces``
    (``load_pretrained("light-asd")``, ``"lr-asd"``): uint8 faces ``(1, t, 112, 112)`` + mfcc ``(1, 4t, 13)``
    -> speaking logits ``(1, t)`` (class-1 logit of the audio-visual head, as the authors' scorer returns)."""

    def logits(faces: torch.Tensor, mfcc: torch.Tensor) -> torch.Tensor:
        face = model.forward_face(model.preprocessing.normalise_faces(faces.to(torch.uint8)))
        audio = model.forward_audio(mfcc.float())
        features = model.forward_temporal(model.forward_fusion({"audio": audio, "face": face}))
        return model.forward_head(features)[..., 1]

    return logits
