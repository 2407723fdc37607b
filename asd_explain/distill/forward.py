"""Teacher and student in one pass: the frozen published model with and without its SE blocks.

The SE blocks sit after the last conv block of each encoder, and everything before them is frozen and in
eval mode, so teacher (published weights, no SE) and student (the same weights + SE) share the two
encoder feature maps exactly. They are computed once without gradient; only the small tail after them
(SE, pooling, fusion, GRUs, head) runs twice. Gates are read with ``block.gate(x)`` and applied here,
which is what each block's forward does (a test checks the student's logits equal ``model(...)``).

Shapes: faces (B, T, 112, 112) normalised grey, mfcc (B, 4T, 13) -> logits (B, T, 2); gates per block:
face (B, 128, T), audio (B, 128, T) (or (B, 128) with a per-clip audio squeeze), fusion (B, 256, T).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.pretrained_model import PretrainedASDModel, face_video


@dataclass
class FeatureMaps:
    """The encoders' last maps: face (B, 128, T, 14, 14), audio (B, 128, 13, T)."""

    face: torch.Tensor
    audio: torch.Tensor


@torch.no_grad()
def face_feature_map(model: PretrainedASDModel, faces: torch.Tensor) -> torch.Tensor:
    """(B, T, 112, 112) normalised grey -> (B, 128, T, 14, 14): the visual encoder before its SE block."""
    return model.visual_encoder.feature_map(face_video(faces))


@torch.no_grad()
def audio_feature_map(model: PretrainedASDModel, mfcc: torch.Tensor) -> torch.Tensor:
    """(B, 4T, 13) MFCC -> (B, 128, 13, T): the audio encoder before its SE block."""
    return model.audio_encoder.feature_map(mfcc.unsqueeze(1).transpose(2, 3))


def feature_maps(model: PretrainedASDModel, faces: torch.Tensor, mfcc: torch.Tensor) -> FeatureMaps:
    """Both encoders up to (not including) their SE blocks."""
    return FeatureMaps(face_feature_map(model, faces), audio_feature_map(model, mfcc))


def teacher_logits(model: PretrainedASDModel, maps: FeatureMaps) -> torch.Tensor:
    """(B, T, 2): the published model's logits (SE blocks bypassed)."""
    audio = model.audio_encoder.pool(maps.audio)
    face = model.visual_encoder.pool(maps.face)
    return model.forward_head(model.forward_temporal(model.fuse(audio, face)))


def _scale(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """x (B, C, ...) times gate (B, C) or (B, C, T) broadcast over the remaining axes."""
    return x * gate.reshape(*gate.shape, *([1] * (x.dim() - gate.dim())))


def student_logits(model: PretrainedASDModel, maps: FeatureMaps) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(B, T, 2) logits of the model with its SE blocks, and each block's gate (with graph)."""
    se = model.se_blocks()
    gates: dict[str, torch.Tensor] = {}
    gates["face"] = se["face"].gate(maps.face)
    face = model.visual_encoder.pool(_scale(maps.face, gates["face"]))
    if se["audio"].squeeze == "frame":  # (B, C, F, T) seen as video (B, C, T, F, 1)
        video = maps.audio.transpose(2, 3).unsqueeze(-1)
        gates["audio"] = se["audio"].gate(video)
        audio_map = _scale(video, gates["audio"])[..., 0].transpose(2, 3)
    else:
        gates["audio"] = se["audio"].gate(maps.audio)
        audio_map = _scale(maps.audio, gates["audio"])
    audio = model.audio_encoder.pool(audio_map)
    joint = torch.cat([audio, face], dim=2).transpose(1, 2)[..., None, None]  # (B, 256, T, 1, 1)
    gates["fusion"] = se["fusion"].gate(joint)
    scaled = _scale(joint, gates["fusion"])[..., 0, 0].transpose(1, 2)
    half = audio.shape[2]
    fused = model.fuse(scaled[..., :half], scaled[..., half:])
    return model.forward_head(model.forward_temporal(fused)), gates
