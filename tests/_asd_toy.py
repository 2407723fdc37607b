"""Tiny generated ASD batches with a learnable signal, shared by the model / train tests.

Each track speaks in random runs of frames. While it speaks, a dark "mouth" bar in the lower half of the
face crop opens and closes (its height follows a random syllable rhythm) and the audio features carry
energy in a band of frequencies that follows the same rhythm; silent frames have a closed mouth and
low-level noise. Body crops get a bright "arm" patch that moves while speaking (weaker cue).
"""
from __future__ import annotations

import numpy as np
import torch


def toy_batch(rng: np.random.Generator, batch_size: int = 4, frames: int = 8, size: int = 48,
              n_features: int = 40, body: bool = True) -> dict:
    labels = np.zeros((batch_size, frames), dtype=np.int64)
    for b in range(batch_size):
        start = rng.integers(0, frames)
        length = rng.integers(1, frames + 1)
        labels[b, start:start + length] = 1
        if rng.random() < 0.3:
            labels[b] = 0
    rhythm = rng.uniform(0.3, 1.0, size=(batch_size, frames)) * labels
    face = rng.normal(0.0, 0.3, size=(batch_size, frames, 1, size, size)).astype(np.float32)
    mouth_y, mouth_x = int(size * 0.7), slice(size // 3, 2 * size // 3)
    for b in range(batch_size):
        for t in range(frames):
            half = 1 + int(rhythm[b, t] * size * 0.12)
            face[b, t, 0, mouth_y - half:mouth_y + half, mouth_x] = -2.0
    audio = rng.normal(0.0, 0.3, size=(batch_size, 4 * frames, n_features)).astype(np.float32)
    audio[:, :, 5:15] += 3.0 * np.repeat(rhythm, 4, axis=1)[:, :, None]
    batch = {
        "face": torch.from_numpy(face),
        "audio": torch.from_numpy(audio),
        "labels": torch.from_numpy(labels),
        "label_mask": torch.ones(batch_size, frames, dtype=torch.bool),
        "entity_ids": [f"vid{b}_0.00_9.00:{b}" for b in range(batch_size)],
        "timestamps_s": torch.arange(frames, dtype=torch.float64).repeat(batch_size, 1) * 0.04,
        "video_ids": [f"vid{b}" for b in range(batch_size)],
    }
    if body:
        body_crops = rng.normal(0.0, 0.3, size=(batch_size, frames, 1, size, size)).astype(np.float32)
        body_crops[:, :, 0, size // 2:, : size // 4] += 1.5 * rhythm[:, :, None, None]
        batch["body"] = torch.from_numpy(body_crops)
    return batch


def toy_batches(seed: int, count: int, **kwargs) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [toy_batch(rng, **kwargs) for _ in range(count)]
