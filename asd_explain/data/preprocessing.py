"""How a model's inputs are made, saved in every checkpoint and read back for inference.

``Preprocessing`` records crop sizes and channels, the grey normalisation ``(x / 255 - face_mean) /
face_std`` (RGB crops use the ImageNet statistics), the audio features (kind, mel bands, sample rate, 4
feature frames per video frame) and the frame-rate policy. Training writes it from the store it read;
``train.checkpoint.load_model`` attaches the checkpoint's copy to the model (``model.preprocessing``), and
``track_batch`` / ``explain_video`` / ``evaluate`` make their inputs from it, not from module constants.
A checkpoint without the entry (or a model built in code) gets the defaults, which are those constants.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import config_from_dict, config_to_dict
from ..constants import GREY_MEAN, GREY_STD, SAMPLE_RATE_HZ
from .audio_features import AUDIO_FRAMES_PER_VIDEO_FRAME, AudioFeatureConfig
from .body_hide import hide_face_in_body
from .dataset import normalise_frames


@dataclass
class Preprocessing:
    """How a model's inputs were made; travels with every checkpoint so inference can redo it.

    Units: sizes in pixels, rates in Hz. ``fps_policy``: "native" (labelled frames at the video's own
    rate) or "resample:<fps>". ``body_hide_face``: the face box (grown by ``body_hide_face_margin`` face
    widths / heights each side) of every body crop was set to the normalisation mean
    (:mod:`asd_explain.data.body_hide`), so inference must do the same. ``extra`` keeps any further store
    metadata (body box source, version...).
    """

    face_size: int = 112
    body_size: tuple[int, int] = (112, 112)
    face_channels: int = 1
    body_channels: int = 1
    face_mean: float = GREY_MEAN
    face_std: float = GREY_STD
    audio_feature: str = "logmel"
    n_mels: int = 40
    sample_rate_hz: int = SAMPLE_RATE_HZ
    audio_frames_per_video_frame: int = AUDIO_FRAMES_PER_VIDEO_FRAME
    fps_policy: str = "native"
    body_hide_face: bool = False
    body_hide_face_margin: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, source: str = "preprocessing") -> Preprocessing:
        """From a checkpoint's ``preprocessing`` entry (None -> defaults); ConfigError naming ``source``."""
        return config_from_dict(cls, data, source=source)

    @classmethod
    def for_model(cls, config: Any) -> Preprocessing:
        """The defaults for a model built in code (no checkpoint): channels and audio features from its
        ``ModelConfig``, everything else the toolkit's constants."""
        return cls(face_channels=config.face_channels, body_channels=config.body_channels,
                   audio_feature=config.audio_feature, n_mels=config.n_audio_features)

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    def audio_config(self) -> AudioFeatureConfig:
        """The audio features to compute (log-mel with ``n_mels`` bands, or 13 MFCC) at ``sample_rate_hz``."""
        return AudioFeatureConfig(kind=self.audio_feature, n_mels=self.n_mels if self.audio_feature == "logmel" else 40,
                                  sample_rate_hz=int(self.sample_rate_hz))

    def normalise(self, frames: np.ndarray) -> np.ndarray:
        """uint8 crops (T, H, W) grey or (T, H, W, 3) RGB -> (T, C, H, W) float32 as the model was trained."""
        return normalise_frames(frames, grey_mean=self.face_mean, grey_std=self.face_std)

    @property
    def hide_margin(self) -> float | None:
        """The margin of ``body_hide_face`` (None when the body crops keep the head)."""
        return float(self.body_hide_face_margin) if self.body_hide_face else None

    def body_crops(self, body: np.ndarray, face_boxes: np.ndarray | None, body_boxes: np.ndarray | None,
                   frame_size: tuple[int, int] | None = None, source: str = "track") -> np.ndarray:
        """``body (T, h, w[, 3]) uint8`` as the model saw its body crops: with ``body_hide_face``, the face
        region hidden (needs both boxes; ValueError naming ``source`` without them), else unchanged."""
        if not self.body_hide_face:
            return body
        if face_boxes is None or body_boxes is None:
            raise ValueError(f"{source}: the checkpoint's body crops hide the face (body_hide_face), which needs "
                             "the face and body boxes of every frame")
        return hide_face_in_body(body, face_boxes, body_boxes, frame_size, self.body_hide_face_margin, self.face_mean)

    def check_inference(self, source: str = "checkpoint") -> None:
        """ValueError naming ``source`` when inference cannot redo this preprocessing."""
        if self.fps_policy != "native":
            raise ValueError(f"{source}: fps_policy {self.fps_policy!r} is not supported for inference "
                             "(only 'native': labelled frames at the video's own rate)")
        if self.audio_frames_per_video_frame != AUDIO_FRAMES_PER_VIDEO_FRAME:
            raise ValueError(f"{source}: {self.audio_frames_per_video_frame} audio frames per video frame; the "
                             f"audio features give {AUDIO_FRAMES_PER_VIDEO_FRAME}")


def model_preprocessing(model: Any) -> Preprocessing:
    """The preprocessing a model's inputs need: the checkpoint's (``model.preprocessing``, set by
    ``load_model``) or, for a model built in code, ``Preprocessing.for_model(model.config)``."""
    prep = getattr(model, "preprocessing", None)
    return prep if isinstance(prep, Preprocessing) else Preprocessing.for_model(model.config)
