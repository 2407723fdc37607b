"""Batches for the published models (Light-ASD / LR-ASD) from a track store, with the authors' inputs.

  - faces: the store's grey 112 x 112 crops (asd-prep's default), normalised ``(x / 255 - 0.4161) / 0.1688``
    by the store's collate;
  - audio: python_speech_features MFCC (``asd_explain.data.psf_mfcc``) on the 16-bit sample scale,
    13 coefficients, 25 ms windows every ``1 / (4 fps)`` s (10 ms, 4 per video frame at the authors' 25 fps).
    A chunk's MFCC are the rows of its whole track's (pre-emphasis over the whole track, windows reaching into
    the audio after the chunk), as the authors' windows over a whole video's MFCC are; only a track's last
    frames lack audio for their last windows (``4n - 2`` full windows for ``n`` frames at 25 fps) and are
    completed to ``4n`` by wrapping.
``PretrainedTrackSource`` (every frame once, evaluation) and ``PretrainedClipSource`` (training clips) are the
store sources of ``store_batches`` with the audio replaced.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from ..data.dataset import TrackDataset
from ..data.psf_mfcc import AUTHORS_MFCC, PsfMfccConfig, psf_mfcc
from ..data.store import StoreError, TrackStore, audio_span_samples
from ..models.config import ModelConfig
from ..models.pretrained_blocks import PREPROCESSING
from .checkpoint import Preprocessing
from .store_batches import StoreClipSource, StoreTrackSource

FACE_ONLY = ModelConfig(modalities=("face",), face_channels=1)
MFCC_PER_FRAME = 4


def mfcc_config(fps: float, preemphasis: float = AUTHORS_MFCC.preemphasis) -> PsfMfccConfig:
    """The authors' MFCC (25 ms windows every 10 ms) with the hop made 1 / (4 fps) at other frame rates."""
    hop_s = AUTHORS_MFCC.hop_s if fps == 25.0 else 1.0 / (MFCC_PER_FRAME * fps)
    return dataclasses.replace(AUTHORS_MFCC, hop_s=hop_s, preemphasis=preemphasis)


def preemphasise(audio: np.ndarray, coefficient: float = AUTHORS_MFCC.preemphasis) -> np.ndarray:
    """``y[0] = x[0]``, ``y[n] = x[n] - c x[n-1]`` (float64), as psf does on the whole signal."""
    x = np.asarray(audio, dtype=np.float64)
    return np.concatenate([x[:1], x[1:] - coefficient * x[:-1]])


def chunk_mfcc(audio: np.ndarray, n_frames: int, fps: float, *, emphasised: bool = False) -> np.ndarray:
    """int16-scale audio (N,) from a chunk's first frame on -> (4 n_frames, 13) float32 psf MFCC.

    Audio past the chunk (up to one window) is used when given; short of 4 n frames, the array is completed
    by wrapping. ``emphasised``: the audio is already pre-emphasised (a slice of a pre-emphasised track)."""
    config = mfcc_config(fps, 0.0 if emphasised else AUTHORS_MFCC.preemphasis)
    want = MFCC_PER_FRAME * n_frames
    needed = (want - 1) * config.hop_samples + config.window_samples  # exactly 4n full windows
    mfcc = psf_mfcc(np.asarray(audio[:needed], dtype=np.float64), config)
    if len(mfcc) < want:
        mfcc = np.pad(mfcc, ((0, want - len(mfcc)), (0, 0)), mode="wrap")
    return mfcc[:want].astype(np.float32)


class PsfAudioDataset(Dataset):
    """A face-only ``TrackDataset`` whose items get the published models' MFCC as ``audio`` (4T, 13).

    A chunk's MFCC are the rows of the whole track's (pre-emphasis over the whole track, windows reaching
    into the audio after the chunk), as the authors' windows over a whole video's MFCC are; only a track's
    last frames are completed by wrapping.
    """

    def __init__(self, faces: TrackDataset) -> None:
        self.faces = faces
        self.store = faces.store
        self.lengths = faces.lengths

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """The face dataset's ``collate`` (its crop normalisation; the DataLoader's ``collate_fn``)."""
        return self.faces.collate(items)

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, key: Any) -> dict[str, Any]:
        item = self.faces[key]
        track, start, n_frames, _ = self.faces._key(key)
        whole = self.store.read(self.store.entity_ids[track], modalities=("audio",))
        first, _ = audio_span_samples(whole.timestamps_s, whole.fps, start, start + n_frames, whole.sample_rate_hz)
        item["audio"] = chunk_mfcc(preemphasise(whole.audio)[first:], n_frames, whole.fps, emphasised=True)
        return item


class PretrainedTrackSource(StoreTrackSource):
    """Evaluation batches (every frame once) with face crops and psf MFCC, for a published model."""

    def __init__(self, store: TrackStore, *, chunk_frames: int = 256, batch_frames: int = 1024,
                 num_workers: int = 0, max_tracks: int = 0) -> None:
        super().__init__(store, FACE_ONLY, chunk_frames=chunk_frames, batch_frames=batch_frames,
                         num_workers=num_workers, max_tracks=max_tracks)
        self.dataset = PsfAudioDataset(self.dataset)


def check_store_for_pretrained(store: TrackStore, name: str, face_size_px: int = PREPROCESSING.face_size_px) -> None:
    """One-line StoreError unless the store's face crops are what the published ``name`` was trained on."""
    if len(store) == 0:
        raise StoreError(f"{store.path}: store has no finished track")
    face = store.read(store.entity_ids[0], 0, 1, modalities=("face",)).face  # (1, H, W) grey, (1, H, W, 3) RGB
    if face is None or face.ndim != 3 or face.shape[1:] != (face_size_px, face_size_px):
        found = "none" if face is None else f"{'grey' if face.ndim == 3 else 'RGB'} {face.shape[2]}x{face.shape[1]}"
        raise StoreError(f"{store.path}: face crops are {found}, but {name} needs grey {face_size_px}x{face_size_px} "
                         f"crops; prepare the store with face_size {face_size_px}, face_colour gray")


def pretrained_preprocessing(name: str, store: TrackStore) -> Preprocessing:
    """What a checkpoint fine-tuned from ``name`` on ``store`` carries about its inputs."""
    p = PREPROCESSING
    return Preprocessing(face_size=p.face_size_px, face_channels=1, face_mean=p.pixel_mean, face_std=p.pixel_std,
                         audio_feature="psf_mfcc", n_mels=p.n_mfcc, sample_rate_hz=p.sample_rate_hz,
                         fps_policy="native", extra={"pretrained": name, "dataset": store.manifest.get("dataset"),
                                                     "store_format_version": store.manifest.get("format_version")})


class PretrainedClipSource(StoreClipSource):
    """Training clips with face crops and psf MFCC, for fine-tuning a published model (kwargs as StoreClipSource)."""

    def __init__(self, store: TrackStore, **kwargs: Any) -> None:
        kwargs["augment_audio"] = False  # the audio is recomputed from the store's track audio
        super().__init__(store, FACE_ONLY, **kwargs)
        self.dataset = PsfAudioDataset(self.dataset)
