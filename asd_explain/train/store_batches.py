"""Batch sources over a track store (``asd_explain.data``): training clips and whole-track evaluation.

``resolve_store(root, split)`` accepts a store folder (with ``manifest.json``) or a folder holding one
store per split (``root/<split>/manifest.json``). ``check_store_fits`` stops with a one-line error when
a store lacks a stream the model needs or its crops differ from what the model was built for.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..constants import MODALITIES, SAMPLE_RATE_HZ
from ..data.dataset import TrackDataset
from ..data.preprocessing import Preprocessing
from ..data.sampler import ClipBatchSampler
from ..data.store import MANIFEST_NAME, StoreError, TrackStore
from ..models.config import ModelConfig
from .batches import Batch

Key = tuple[int, int, int, int]


def resolve_store(root: str | os.PathLike, split: str | None = None) -> Path:
    """The store folder for ``split``: ``root`` itself or ``root/<split>``."""
    root = Path(root)
    if split and (root / split / MANIFEST_NAME).is_file():
        return root / split
    if (root / MANIFEST_NAME).is_file():
        return root
    where = f"{root / MANIFEST_NAME} nor {root / split / MANIFEST_NAME}" if split else str(root / MANIFEST_NAME)
    raise StoreError(f"{root}: not a track store (no {where}); make one with asd-prep")


def store_modalities(model_config: ModelConfig) -> tuple[str, ...]:
    """Modalities to read from the store, in the dataset's naming."""
    return tuple(m for m in MODALITIES if m in model_config.modalities)


def check_store_fits(store: TrackStore, config: ModelConfig) -> None:
    """One-line StoreError when the store cannot feed ``config``'s model."""
    settings = store.settings
    if "body" in config.modalities and settings.get("body_source", "none") == "none":
        raise StoreError(f"{store.path}: store has no body crops (body_source none) but the model needs "
                         f"{list(config.modalities)}; drop 'body' from model.modalities or re-prepare the store")
    for name in ("face", "body"):
        if name not in config.modalities:
            continue
        colour = settings.get(f"{name}_colour", "gray")
        store_channels = 3 if colour == "rgb" else 1
        model_channels = getattr(config, f"{name}_channels")
        if store_channels != model_channels:
            raise StoreError(f"{store.path}: {name} crops are {colour} ({store_channels} channel(s)) but the model "
                             f"expects {model_channels}; set model.{name}_channels: {store_channels}")
    if config.audio_feature == "mfcc" and config.n_audio_features != 13:
        raise StoreError(f"model.n_audio_features must be 13 for MFCC, got {config.n_audio_features}")
    if len(store) == 0:
        raise StoreError(f"{store.path}: store has no finished track")


def check_store_preprocessing(store: TrackStore, prep: Preprocessing) -> None:
    """One-line StoreError when the store's crops or audio differ from what a checkpoint was trained on
    (its audio sample rate; the face crop size when the checkpoint recorded its store's)."""
    s = store.settings
    rate = int(s.get("sample_rate_hz", SAMPLE_RATE_HZ))
    if rate != int(prep.sample_rate_hz):
        raise StoreError(f"{store.path}: audio at {rate} Hz but the checkpoint's features are at "
                         f"{prep.sample_rate_hz} Hz")
    face = [int(v) for v in s.get("face_size", (112, 112))]
    wanted = [int(v) for v in prep.extra.get("face_size") or face]  # recorded by training on a store
    if face != wanted:
        raise StoreError(f"{store.path}: face crops are {face[0]}x{face[1]} but the checkpoint was trained on "
                         f"{wanted[0]}x{wanted[1]}")


def preprocessing_of(store: TrackStore, config: ModelConfig, body_hide_face: float | None = None) -> Preprocessing:
    """What a checkpoint trained on ``store`` must carry about its inputs (``body_hide_face``: the margin
    of ``data.body_hide_face``, None = off)."""
    s = store.settings
    face_size = tuple(s.get("face_size", (112, 112)))
    return Preprocessing(
        face_size=int(face_size[0]) if face_size[0] == face_size[1] else face_size[0],
        body_size=tuple(s.get("body_size", (112, 112))), face_channels=config.face_channels,
        body_channels=config.body_channels, audio_feature=config.audio_feature,
        n_mels=config.n_audio_features, sample_rate_hz=int(s.get("sample_rate_hz", SAMPLE_RATE_HZ)),
        fps_policy="native", body_hide_face=body_hide_face is not None,
        body_hide_face_margin=float(body_hide_face or 0.0),
        extra={"dataset": store.manifest.get("dataset"), "body_source": s.get("body_source"),
               "face_colour": s.get("face_colour"), "body_colour": s.get("body_colour"),
               "store_format_version": store.manifest.get("format_version"), "face_size": list(face_size)},
    )


def _dataset(store: TrackStore, config: ModelConfig, *, augment: bool, seed: int, modality_dropout: float = 0.0,
             dropout_modalities: Sequence[str] = (), augment_audio: bool = True, shift_px: int = 0,
             preprocessing: Preprocessing | None = None) -> TrackDataset:
    """The store's dataset for ``config``'s model; normalisation and audio features from ``preprocessing``
    (a checkpoint's, for inference; default: the toolkit's, as training records them)."""
    prep = preprocessing or Preprocessing.for_model(config)
    n_mels = config.n_audio_features if config.audio_feature == "logmel" else 40
    modalities = store_modalities(config)
    foreign = [m for m in dropout_modalities if m not in modalities]
    if modality_dropout > 0 and foreign:
        raise StoreError(f"dropout_modalities has {foreign[0]!r}, which the model ({list(config.modalities)}) lacks")
    return TrackDataset(store, audio_feature=config.audio_feature, n_mels=n_mels, augment=augment,
                        modalities=modalities, seed=seed, modality_dropout=modality_dropout,
                        dropout_modalities=tuple(dropout_modalities) or None, augment_audio=augment_audio,
                        shift_px=shift_px, sample_rate_hz=prep.sample_rate_hz,
                        grey_norm=(prep.face_mean, prep.face_std), body_hide_face=prep.hide_margin)


class StoreClipSource:
    """Training batches: clips of ``clip_frames`` frames, ``batch_size`` per batch, shuffled per epoch."""

    def __init__(self, store: TrackStore, config: ModelConfig, *, clip_frames: int, batch_size: int,
                 augment: bool = True, seed: int = 0, num_workers: int = 0, max_tracks: int = 0,
                 modality_dropout: float = 0.0, dropout_modalities: Sequence[str] = (),
                 augment_audio: bool = True, shift_px: int = 0, preprocessing: Preprocessing | None = None) -> None:
        check_store_fits(store, config)
        self.dataset = _dataset(store, config, augment=augment, seed=seed, modality_dropout=modality_dropout,
                                dropout_modalities=dropout_modalities, augment_audio=augment_audio, shift_px=shift_px,
                                preprocessing=preprocessing)
        lengths = self.dataset.lengths[:max_tracks] if max_tracks else self.dataset.lengths
        self.sampler = ClipBatchSampler(lengths, clip_frames, batch_size, shuffle=True, seed=seed)
        self.num_workers = num_workers

    def _epoch_batches(self, epoch: int) -> list[list[Key]]:
        self.sampler.set_epoch(epoch)
        return list(self.sampler)

    def num_batches(self, epoch: int) -> int:
        return len(self._epoch_batches(epoch))

    def batches(self, epoch: int, positions: Sequence[int]) -> Iterator[Batch]:
        chosen = [self._epoch_batches(epoch)[p] for p in positions]
        yield from _load(self.dataset, chosen, self.num_workers)


class StoreTrackSource:
    """Evaluation batches: every frame of every track once, in chunks of at most ``chunk_frames``.

    Chunks of equal length are batched together (no padding, so the temporal model never sees padded
    frames), up to ``batch_frames`` frames per batch. Epoch-independent.
    """

    def __init__(self, store: TrackStore, config: ModelConfig, *, chunk_frames: int = 256,
                 batch_frames: int = 1024, num_workers: int = 0, max_tracks: int = 0,
                 preprocessing: Preprocessing | None = None) -> None:
        check_store_fits(store, config)
        if preprocessing is not None:
            check_store_preprocessing(store, preprocessing)
        self.dataset = _dataset(store, config, augment=False, seed=0, preprocessing=preprocessing)
        lengths = self.dataset.lengths[:max_tracks] if max_tracks else self.dataset.lengths
        self.keys = evaluation_batches(lengths, chunk_frames, batch_frames)
        self.num_workers = num_workers

    def num_batches(self, epoch: int = 0) -> int:
        return len(self.keys)

    def batches(self, epoch: int, positions: Sequence[int]) -> Iterator[Batch]:
        yield from _load(self.dataset, [self.keys[p] for p in positions], self.num_workers)


def evaluation_batches(lengths: Sequence[int] | np.ndarray, chunk_frames: int, batch_frames: int) -> list[list[Key]]:
    """Cover every frame once: chunks (track, start, n, 0) grouped by equal n, <= batch_frames per batch."""
    by_length: dict[int, list[Key]] = {}
    for track, length in enumerate(int(n) for n in lengths):
        for start in range(0, length, chunk_frames):
            n = min(chunk_frames, length - start)
            by_length.setdefault(n, []).append((track, start, n, 0))
    batches = []
    for n in sorted(by_length, reverse=True):
        per_batch = max(1, batch_frames // n)
        chunks = by_length[n]
        batches += [chunks[i:i + per_batch] for i in range(0, len(chunks), per_batch)]
    return batches


def _load(dataset: TrackDataset, batch_keys: list[list[Key]], num_workers: int) -> Iterator[dict[str, Any]]:
    if not batch_keys:
        return iter(())
    # An own generator: making the iterator must not draw from the global torch RNG (the model's dropout
    # uses it), or a validation, or a resume mid-epoch, would change the training that follows (items are
    # a function of their key, whichever worker builds them, so a fixed seed costs nothing).
    loader = DataLoader(dataset, batch_sampler=batch_keys, collate_fn=dataset.collate, num_workers=num_workers,
                        persistent_workers=False, generator=torch.Generator().manual_seed(0))
    return iter(loader)
