"""Batch samplers over track lengths: whole tracks packed to a frame budget, or fixed-length clips.

Both yield lists of keys ``(track_index, start, n_frames, epoch)`` for :class:`TrackDataset`, are
deterministic given ``seed`` and the epoch (``set_epoch``), and split the batches of an epoch between
``world_size`` ranks like ``DistributedSampler`` (the batch list is padded by repeating its first batches so
every rank gets the same number).

* :class:`FrameBudgetBatchSampler` (TalkNet / Light-ASD): tracks sorted by length, longest first; a batch
  takes ``max(budget // longest, 1)`` consecutive tracks and every track is cut to the batch's shortest
  (its first frames), so a batch holds at most ``budget`` frames; batch order is shuffled per epoch.
* :class:`ClipBatchSampler`: clips of ``clip_frames`` frames (a track shorter than that is one short clip,
  padded by ``collate``), a random offset per track and epoch, shuffled, ``batch_size`` clips per batch.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

Key = tuple[int, int, int, int]


class _EpochBatches(Sampler[list[Key]]):
    def __init__(self, *, shuffle: bool, seed: int, rank: int, world_size: int) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} / world_size {world_size}: need 0 <= rank < world_size")
        self.shuffle, self.seed, self.rank, self.world_size = shuffle, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, stream])

    def _all_batches(self) -> list[list[Key]]:
        raise NotImplementedError

    def _rank_batches(self) -> list[list[Key]]:
        batches = self._all_batches()
        if self.shuffle:
            order = self._rng(1).permutation(len(batches))
            batches = [batches[i] for i in order]
        if self.world_size > 1 and batches:
            per_rank = -(-len(batches) // self.world_size)
            batches = (batches * (-(-per_rank * self.world_size // len(batches))))[:per_rank * self.world_size]
            batches = batches[self.rank::self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[Key]]:
        return iter(self._rank_batches())

    def __len__(self) -> int:
        total = len(self._all_batches())
        return -(-total // self.world_size) if self.world_size > 1 else total


class FrameBudgetBatchSampler(_EpochBatches):
    """Whole tracks, sorted by length and packed up to ``frame_budget`` frames per batch (module doc)."""

    def __init__(self, lengths: Sequence[int], frame_budget: int = 2000, *, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        super().__init__(shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
        if frame_budget < 1:
            raise ValueError("frame_budget must be >= 1")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.frame_budget = int(frame_budget)
        order = sorted(range(len(self.lengths)), key=lambda i: (-int(self.lengths[i]), i))
        self._groups: list[list[int]] = []
        start = 0
        while start < len(order):
            count = max(self.frame_budget // int(self.lengths[order[start]]), 1)
            self._groups.append(order[start:start + count])
            start += count

    def _all_batches(self) -> list[list[Key]]:
        batches = []
        for group in self._groups:
            cut = min(int(self.lengths[group[-1]]), self.frame_budget)
            batches.append([(i, 0, cut, self.epoch) for i in group])
        return batches


class ClipBatchSampler(_EpochBatches):
    """Fixed-length clips, ``batch_size`` per batch (module doc)."""

    def __init__(self, lengths: Sequence[int], clip_frames: int, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False) -> None:
        super().__init__(shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
        if clip_frames < 1 or batch_size < 1:
            raise ValueError("clip_frames and batch_size must be >= 1")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.clip_frames, self.batch_size, self.drop_last = int(clip_frames), int(batch_size), drop_last

    def clips(self) -> list[Key]:
        """This epoch's clips in batch order (before the rank split)."""
        rng = self._rng(0)
        clips: list[Key] = []
        for track, length in enumerate(self.lengths.tolist()):
            if length <= self.clip_frames:
                clips.append((track, 0, length, self.epoch))
                continue
            count = length // self.clip_frames
            spare = length - count * self.clip_frames
            offset = int(rng.integers(spare + 1)) if self.shuffle else 0
            clips += [(track, offset + k * self.clip_frames, self.clip_frames, self.epoch) for k in range(count)]
        if self.shuffle:
            clips = [clips[i] for i in self._rng(2).permutation(len(clips))]
        return clips

    def _all_batches(self) -> list[list[Key]]:
        clips = self.clips()
        batches = [clips[i:i + self.batch_size] for i in range(0, len(clips), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches
