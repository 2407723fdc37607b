"""``TrackDataset``: a torch Dataset over a track store, and ``collate`` into padded batch tensors.

Items (dicts with uint8 ``face``/``body`` crops ``(T, H, W[, 3])``, audio features, labels) are addressed
by an int (a whole track, or a fixed clip when ``clip_frames`` is set) or by a key ``(track_index, start,
n_frames[, epoch])`` as the batch samplers of :mod:`asd_explain.data.sampler` yield them; ``collate``
normalises the crops. Augmentation draws from an RNG seeded by ``(seed, epoch, track_index, start)``, so a batch is the
same whichever DataLoader worker builds it. ``modality_dropout=p`` (training) blanks one modality of a clip
with probability p (its own RNG, seeded by ``(seed, epoch, track_index, start, 1)``; ``augment`` not needed);
``shift_px=N`` moves each face / body clip by up to N pixels (RNG ``(seed, epoch, track_index, start, 2)``):
audio features are set to 0 here, face / body crops are written as 0 (the normalisation mean) by ``collate``;
the item's ``blanked`` names what was blanked. ``body_hide_face=margin`` sets the face box (grown by
``margin``) of every body crop to the normalisation mean before any augmentation
(:mod:`asd_explain.data.body_hide`); None = off.

Batch dict from ``collate`` (B items, T = longest item, padding masked out):
``face (B, T, 1, Hf, Wf) float32`` normalised ``(x / 255 - 0.4161) / 0.1688`` (grey; RGB uses the ImageNet
mean/std per channel), ``body (B, T, C, Hb, Wb) float32`` (same normalisation), ``audio (B, 4T, F) float32``,
``labels (B, T) int64`` (1 = SPEAKING_AUDIBLE, else 0), ``label_mask (B, T) bool``, with modality dropout
``blanked {modality: (B,) bool}``, ``timestamps_s (B, T)
float64`` (0 on padding), ``entity_ids``, ``video_ids`` (lists of str), ``fps (B,) float64``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from ..constants import GREY_MEAN, GREY_STD, IMAGENET_MEAN, IMAGENET_STD, MODALITIES, SAMPLE_RATE_HZ
from .audio_features import AUDIO_FRAMES_PER_VIDEO_FRAME, AudioFeatureConfig, audio_features
from .augment import augment_frames, choose_blank, maybe_mix_audio, random_shift
from .body_hide import hide_face_in_body
from .store import TrackStore

RGB_MEAN = np.array(IMAGENET_MEAN, dtype=np.float32)
RGB_STD = np.array(IMAGENET_STD, dtype=np.float32)


_SCALES = np.concatenate([[1.0 / (255.0 * GREY_STD)], 1.0 / (255.0 * RGB_STD)]).astype(np.float32)
_SHIFTS = np.concatenate([[-GREY_MEAN / GREY_STD], -RGB_MEAN / RGB_STD]).astype(np.float32)


def normalise_frames(frames: np.ndarray, out: np.ndarray | None = None, *, grey_mean: float = GREY_MEAN,
                     grey_std: float = GREY_STD) -> np.ndarray:
    """``(T, H, W)`` grey or ``(T, H, W, 3)`` RGB uint8 -> ``(T, C, H, W) float32`` normalised
    (``x * scale + shift`` per channel, written into ``out`` when given); grey uses ``grey_mean`` /
    ``grey_std`` (a checkpoint's ``Preprocessing``), RGB the ImageNet statistics."""
    grey = frames.ndim == 3
    scales, shifts = _SCALES, _SHIFTS
    if grey and (grey_mean, grey_std) != (GREY_MEAN, GREY_STD):
        scales = np.array([1.0 / (255.0 * grey_std)], dtype=np.float32)
        shifts = np.array([-grey_mean / grey_std], dtype=np.float32)
    shape = (frames.shape[0], 1 if grey else 3, frames.shape[1], frames.shape[2])
    out = np.empty(shape, np.float32) if out is None else out
    for channel in range(shape[1]):
        source = frames if grey else frames[..., channel]
        target = out[:, channel]
        k = 0 if grey else channel + 1
        np.multiply(source, scales[k], out=target, casting="unsafe")
        target += shifts[k]
    return out


class TrackDataset(Dataset):
    """Items of a :class:`TrackStore` as dicts of arrays (see module doc for the batch layout)."""

    def __init__(self, store: TrackStore | str | os.PathLike, *, clip_frames: int | None = None,
                 audio_feature: str = "logmel", n_mels: int = 40, augment: bool = False,
                 modalities: Sequence[str] = MODALITIES, seed: int = 0, modality_dropout: float = 0.0,
                 dropout_modalities: Sequence[str] | None = None, augment_audio: bool = True,
                 shift_px: int = 0, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 grey_norm: tuple[float, float] = (GREY_MEAN, GREY_STD),
                 body_hide_face: float | None = None) -> None:
        self.store = store if isinstance(store, TrackStore) else TrackStore(store)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r} (expected some of {', '.join(MODALITIES)})")
        if "body" in modalities and self.store.settings.get("body_source", "none") == "none":
            raise ValueError(f"{self.store.path}: store has no body crops (body_source none); "
                             f"leave 'body' out of modalities")
        self.modalities = tuple(modalities)
        if not 0.0 <= modality_dropout <= 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1], got {modality_dropout}")
        candidates = self.modalities if dropout_modalities is None else tuple(dropout_modalities)
        foreign = [m for m in candidates if m not in self.modalities]
        if foreign:
            raise ValueError(f"cannot drop {foreign[0]!r}: not among the loaded modalities {list(self.modalities)}")
        self.modality_dropout = float(modality_dropout)
        self.dropout_modalities = candidates
        self.audio_config = AudioFeatureConfig(kind=audio_feature, n_mels=n_mels, sample_rate_hz=sample_rate_hz)
        self.grey_norm = (float(grey_norm[0]), float(grey_norm[1]))
        self.augment = augment
        self.augment_audio = augment_audio
        if shift_px < 0:
            raise ValueError(f"shift_px must be >= 0, got {shift_px}")
        self.shift_px = int(shift_px)
        if body_hide_face is not None and body_hide_face < 0:
            raise ValueError(f"body_hide_face margin must be >= 0, got {body_hide_face}")
        self.body_hide_face = body_hide_face
        self.seed = seed
        self.clip_frames = clip_frames
        self.lengths = self.store.lengths
        self.clips = self._fixed_clips(clip_frames) if clip_frames else None

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """``collate`` with this dataset's grey normalisation (the DataLoader's ``collate_fn``)."""
        return collate(items, self.grey_norm)

    def _fixed_clips(self, clip_frames: int) -> np.ndarray:
        """``(n, 3)`` (track, start, n_frames): consecutive clips of each track; a short track is one clip."""
        rows = []
        for track, length in enumerate(self.lengths.tolist()):
            for start in range(0, max(length - clip_frames, 0) + 1, clip_frames):
                rows.append((track, start, min(clip_frames, length)))
        return np.array(rows, dtype=np.int64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.clips) if self.clips is not None else len(self.lengths)

    def _key(self, key) -> tuple[int, int, int, int]:
        if isinstance(key, (tuple, list)):
            track, start, n_frames = (int(k) for k in key[:3])
            return track, start, n_frames, int(key[3]) if len(key) > 3 else 0
        index = int(key)
        if self.clips is not None:
            track, start, n_frames = self.clips[index].tolist()
            return track, start, n_frames, 0
        return index, 0, int(self.lengths[index]), 0

    def __getitem__(self, key) -> dict[str, Any]:
        track_index, start, n_frames, epoch = self._key(key)
        entity_id = self.store.entity_ids[track_index]
        track = self.store.read(entity_id, start, start + n_frames, modalities=self.modalities)
        rng = np.random.default_rng([self.seed, epoch, track_index, start]) if self.augment else None
        blank = None
        if self.modality_dropout > 0:
            blank = choose_blank(self.dropout_modalities, self.modality_dropout,
                                 np.random.default_rng([self.seed, epoch, track_index, start, 1]))
        item: dict[str, Any] = {
            "entity_id": entity_id, "video_id": track.video_id, "fps": track.fps,
            "timestamps_s": track.timestamps_s.astype(np.float64),
            "labels": (track.labels == 1).astype(np.int64),
        }
        if self.modality_dropout > 0:
            item["blanked"] = () if blank is None else (blank,)
        shift_rng = np.random.default_rng([self.seed, epoch, track_index, start, 2]) if self.shift_px else None
        for name in ("face", "body"):
            frames = getattr(track, name)
            if name in self.modalities and frames is not None:
                if name == "body" and self.body_hide_face is not None:
                    frames = hide_face_in_body(frames, track.face_boxes, track.body_boxes, track.frame_size,
                                               self.body_hide_face, self.grey_norm[0])
                if rng is not None:
                    frames, _ = augment_frames(frames, rng)
                if shift_rng is not None:
                    frames = random_shift(frames, self.shift_px, shift_rng)
                item[name] = frames  # uint8; collate normalises straight into the batch tensor
        if "audio" in self.modalities:
            audio = track.audio
            if rng is not None and self.augment_audio:
                audio = maybe_mix_audio(audio, lambda: self._other_audio(track_index, rng), rng)
            item["audio"] = audio_features(audio, track.timestamps_s, track.fps, self.audio_config)
            if blank == "audio":
                item["audio"] = np.zeros_like(item["audio"])
        return item

    def _other_audio(self, track_index: int, rng: np.random.Generator) -> np.ndarray:
        if len(self.lengths) < 2:
            return self.store.read_audio(self.store.entity_ids[track_index])[0]
        other = int(rng.integers(len(self.lengths) - 1))
        other += other >= track_index
        return self.store.read_audio(self.store.entity_ids[other])[0]


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """A new tensor; in a DataLoader worker it lives in shared memory already (no copy on the way out)."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel)
    return torch.empty(0, dtype=dtype).set_(storage).view(shape)


def _pad_stack(arrays: list[np.ndarray], length: int, dtype: torch.dtype, fill: float = 0) -> torch.Tensor:
    out = _empty((len(arrays), length, *arrays[0].shape[1:]), dtype)
    view = out.numpy()
    for i, array in enumerate(arrays):
        view[i, :len(array)] = array
        view[i, len(array):] = fill
    return out


def _stack_frames(frames: list[np.ndarray], length: int, blank: Sequence[bool] | None = None,
                  grey_norm: tuple[float, float] = (GREY_MEAN, GREY_STD)) -> torch.Tensor:
    """uint8 ``(T_i, H, W[, 3])`` crops -> normalised ``(B, length, C, H, W) float32``, zero padding;
    items with ``blank[i]`` are all 0 (the normalisation mean)."""
    first = frames[0]
    channels = 3 if first.ndim == 4 else 1
    out = _empty((len(frames), length, channels, first.shape[1], first.shape[2]), torch.float32)
    view = out.numpy()
    for i, array in enumerate(frames):
        if blank is not None and blank[i]:
            view[i] = 0.0
            continue
        normalise_frames(array, out=view[i, :len(array)], grey_mean=grey_norm[0], grey_std=grey_norm[1])
        view[i, len(array):] = 0.0
    return out


def collate(items: list[dict[str, Any]], grey_norm: tuple[float, float] = (GREY_MEAN, GREY_STD)) -> dict[str, Any]:
    """Pad items to the longest (T frames, 4T audio frames) and stack into the batch dict (module doc);
    face/body crops are normalised here, once, straight into the batch tensors (grey crops with
    ``grey_norm`` = (mean, std); ``TrackDataset.collate`` passes its own)."""
    length = max(len(item["labels"]) for item in items)
    batch: dict[str, Any] = {
        "labels": _pad_stack([item["labels"] for item in items], length, torch.int64),
        "label_mask": _pad_stack([np.ones(len(item["labels"]), dtype=bool) for item in items], length,
                                 torch.bool),
        "timestamps_s": _pad_stack([item["timestamps_s"] for item in items], length, torch.float64),
        "entity_ids": [item["entity_id"] for item in items],
        "video_ids": [item["video_id"] for item in items],
        "fps": torch.tensor([item["fps"] for item in items], dtype=torch.float64),
    }
    blanked = None
    if "blanked" in items[0]:
        names = [m for m in MODALITIES if m in items[0]]
        blanked = {m: torch.tensor([m in item["blanked"] for item in items], dtype=torch.bool) for m in names}
        batch["blanked"] = blanked
    for name in ("face", "body"):
        if name in items[0]:
            batch[name] = _stack_frames([item[name] for item in items], length,
                                        None if blanked is None else blanked[name].tolist(), grey_norm)
    if "audio" in items[0]:
        batch["audio"] = _pad_stack([item["audio"] for item in items], AUDIO_FRAMES_PER_VIDEO_FRAME * length,
                                    torch.float32)
    return batch
