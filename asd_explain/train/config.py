"""Training configuration: dataclasses that round-trip through YAML (``asd_explain.config``).

A training YAML has the sections ``model`` (ModelConfig), ``data`` and ``optim``, plus run-level keys;
the resolved config is saved as ``<run_dir>/config.yaml`` and inside every checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..constants import MODALITIES
from ..models.config import ModelConfig


@dataclass
class DataConfig:
    """Where batches come from.

    store:          track store folder (``asd-prep`` output).
    train_split / val_split: split names inside the store.
    clip_frames:    frames per training clip (tracks are cut into clips of this length).
    batch_frames:   frame budget per batch (batch size = batch_frames // clip_frames).
    eval_clip_frames: longest piece of a track scored at once in validation / evaluation.
    num_workers:    DataLoader worker processes (0 = in the main process).
    augment:        flip / crop / rotation of face and body clips and audio mixing in training (as the
                    store's loaders offer, ``data.augment``).
    augment_audio:  with ``augment``, also mix another track's audio in; false = the video augmentation
                    only (it moves the mouth around the crop, so the face maps must follow it; the audio
                    mixing is what slows a short CPU run).
    shift_px:       move each training clip's face / body crops by up to this many pixels in x and y (one
                    shift per clip, edges repeated; 0 = off; independent of ``augment``).
    max_tracks:     use at most this many tracks per split (0 = all); for quick runs.
    modality_dropout: probability per training clip of replacing one modality by its blank, label kept
                    (face / body crops at the normalisation mean, audio features at 0: the blanks of
                    ``explain --blank``); 0 = off. Independent of ``augment``.
    dropout_modalities: which modalities may be blanked ([] = all the model's), one per dropped clip,
                    uniformly.
    body_hide_face: set the face box of every body crop to the normalisation mean (train, validation and,
                    through the checkpoint's preprocessing, evaluate / occlusion / explain), so the body
                    stream carries the gestures and not a second copy of the mouth
                    (asd_explain.data.body_hide).
    body_hide_face_margin: grow the hidden face box by this many face widths / heights on each side.
    """

    store: str = ""
    train_split: str = "train"
    val_split: str = "val"
    clip_frames: int = 32
    batch_frames: int = 512
    eval_clip_frames: int = 256
    num_workers: int = 0
    augment: bool = True
    augment_audio: bool = True
    shift_px: int = 0
    max_tracks: int = 0
    modality_dropout: float = 0.0
    dropout_modalities: tuple[str, ...] = ()
    body_hide_face: bool = False
    body_hide_face_margin: float = 0.1

    def __post_init__(self) -> None:
        if self.clip_frames < 1 or self.batch_frames < self.clip_frames:
            raise ValueError(f"need 1 <= clip_frames <= batch_frames, got {self.clip_frames}, {self.batch_frames}")
        if self.eval_clip_frames < 1:
            raise ValueError(f"eval_clip_frames must be >= 1, got {self.eval_clip_frames}")
        if not 0.0 <= self.modality_dropout <= 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1], got {self.modality_dropout}")
        if self.shift_px < 0:
            raise ValueError(f"shift_px must be >= 0, got {self.shift_px}")
        if self.body_hide_face_margin < 0:
            raise ValueError(f"body_hide_face_margin must be >= 0, got {self.body_hide_face_margin}")
        unknown = [m for m in self.dropout_modalities if m not in MODALITIES]
        if unknown:
            raise ValueError(f"dropout_modalities: unknown modality {unknown[0]!r} (audio, face, body)")

    @property
    def batch_size(self) -> int:
        return max(1, self.batch_frames // self.clip_frames)


@dataclass
class OptimConfig:
    """Adam with a per-epoch exponential decay (BIAS: lr 1e-4, x0.95 per epoch, 25 epochs).

    epochs:      passes over the training set.
    max_steps:   stop after this many optimiser steps in total (0 = no limit).
    max_time_s:  stop after this much training time in total, summed over resumes (0 = no limit).
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_decay: float = 0.95
    epochs: int = 10
    max_steps: int = 0
    max_time_s: float = 0.0
    grad_clip: float = 5.0

    def __post_init__(self) -> None:
        if self.lr <= 0 or not 0 < self.lr_decay <= 1 or self.epochs < 1:
            raise ValueError(f"need lr > 0, 0 < lr_decay <= 1, epochs >= 1; got {self.lr}, {self.lr_decay}, "
                             f"{self.epochs}")


@dataclass
class TrainConfig:
    """One training run.

    run_dir:        outputs: config.yaml, train_log.csv, val_log.csv, checkpoints/{last,best}.pt.
    seed:           seeds torch, numpy and random; the batch order of epoch e is a function of (seed, e).
    device:         "auto" (cuda:LOCAL_RANK if available, else cpu), "cpu", "cuda", "cuda:1", ...
    amp:            mixed precision (bfloat16, or float16 with a grad scaler) on CUDA only; ignored on CPU.
    threads:        torch CPU threads per process (0 = cores / processes).
    aux_loss_weight: BIAS's 0.4 on each auxiliary modality head.
    blank_gate_weight: with ``data.modality_dropout``, weight of a loss term that is the fusion SE's share
                    of the blanked modality on the clips where it was blanked (teaches the modality-importance
                    gate that a missing sense carries nothing); 0 = off.
    gate_l1:        weight of an L1 loss on every SE gate of the model (face, body, audio encoders and the
                    fusion SE): gate_l1 x the mean over blocks of mean(s). Channels the decision does not use
                    close, so the channels the heatmap threshold keeps are the ones that decide, and a
                    modality the fusion does not need gets a low share; 0 = off.
    share_floor:    with the toolkit's fusion SE, a floor on the fusion share of every modality present in a
                    clip (not blanked by modality dropout): ``share_floor_weight`` x the mean of
                    relu(floor - share) over labelled frames. Without it the fusion may close a stream it is
                    given (gate_l1 closes the slice the decision needs least), and that stream's maps then
                    explain a stream the decision does not use (docs/measure.md); 0 = off, < 1 / modalities.
    share_floor_weight: weight of that term.
    unlabelled_blanks: modalities whose blank (``data.modality_dropout``) leaves the clip out of the fused
                    cross-entropy (its other modalities' auxiliary CE and the blank-share loss still count):
                    the fusion gate learns that the blank carries ~0 share, but the classifier is never
                    taught to decide without that modality, so the decision keeps needing it (e.g. [face]:
                    in ASD the face track is the entity, never missing).
    checkpoint_every_steps: also write ``last.pt`` every N steps (0 = at epoch ends only).
    log_every_steps: rows of train_log.csv.
    validate_every_epochs: run validation every N epochs (and at the end).
    validate_every_steps: also validate every N steps (0 = only per epoch); for long epochs.
    progress:       tqdm bars (rank 0 only).
    init:           fine-tune a published AVA-trained model instead ("light-asd", "lr-asd"; "" = train
                    ``model`` from scratch): its architecture and weights, its inputs (grey 112 crops, psf
                    MFCC); the ``model`` section is not used.
    init_weights:   with ``init``, its weights file ("" = found as ``asd-explain weights`` finds it).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run_dir: str = "runs/asd"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    threads: int = 0
    aux_loss_weight: float = 0.4
    blank_gate_weight: float = 0.0
    gate_l1: float = 0.0
    share_floor: float = 0.0
    share_floor_weight: float = 20.0
    unlabelled_blanks: tuple[str, ...] = ()
    checkpoint_every_steps: int = 50
    log_every_steps: int = 10
    validate_every_epochs: int = 1
    validate_every_steps: int = 0
    progress: bool = True
    init: str = ""
    init_weights: str = ""

    def __post_init__(self) -> None:
        unknown = [m for m in self.unlabelled_blanks if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unlabelled_blanks: unknown modality {unknown[0]!r} (audio, face, body)")
