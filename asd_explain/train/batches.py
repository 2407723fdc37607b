"""What the trainer reads: a ``BatchSource`` hands out numbered batches of an epoch.

A batch is a dict as the loaders make it:
  face (B, T, 1, 112, 112) float32, body (B, T, C, Hb, Wb) float32, audio (B, 4T, F) float32,
  labels (B, T) int64 (1 = SPEAKING_AUDIBLE), label_mask (B, T) bool, entity_ids list[str],
  timestamps_s (B, T) float64, video_ids list[str].
The order of epoch ``e`` must depend on (seed, e) only, so that every DDP rank sees the same numbering
and a resumed run continues exactly where the checkpoint was taken (``positions`` skips done batches
without loading them).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Protocol, Sequence

import numpy as np

Batch = dict[str, Any]


class BatchSource(Protocol):
    def num_batches(self, epoch: int) -> int:
        """Number of batches in epoch ``epoch`` (all ranks together)."""

    def batches(self, epoch: int, positions: Sequence[int]) -> Iterable[Batch]:
        """The batches at ``positions`` (0-based, ascending) of epoch ``epoch``, in that order."""


def shard_positions(num_batches: int, rank: int, world_size: int, done: int = 0) -> list[int]:
    """Positions rank ``rank`` trains on after ``done`` batches of the epoch were consumed.

    Ranks take interleaved positions; every rank gets the same count (the remainder that would leave
    one rank a step short is dropped, as DDP needs equal step counts).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world of {world_size}")
    per_rank = max(0, num_batches - done) // world_size
    return [done + i * world_size + rank for i in range(per_rank)]


def eval_positions(num_batches: int, rank: int, world_size: int) -> list[int]:
    """All positions of a validation pass split over ranks (no batch dropped)."""
    return list(range(rank, num_batches, world_size))


class ListBatchSource:
    """Batches held in memory; ``shuffle`` permutes them per epoch with a (seed, epoch) generator."""

    def __init__(self, batches: Sequence[Batch], *, shuffle: bool = False, seed: int = 0) -> None:
        self._batches = list(batches)
        self.shuffle = shuffle
        self.seed = seed

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self._batches))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self._batches))

    def num_batches(self, epoch: int) -> int:
        return len(self._batches)

    def batches(self, epoch: int, positions: Sequence[int]) -> Iterator[Batch]:
        order = self.order(epoch)
        for position in positions:
            yield self._batches[int(order[position])]
