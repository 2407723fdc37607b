"""Staged base class of the published AVA-trained models (Light-ASD, LR-ASD), with optional SE blocks.

Stages (the toolkit's model contract, as ``ASDModel``; face + audio only):
  forward_face  (B, T, 112, 112), (B, T, 1, H, W) or (B, 1, T, H, W) normalised grey -> (B, T, 128)
  forward_audio (B, 4T, 13) python_speech_features MFCC                              -> (B, T, 128)
  forward_fusion {"audio": (B, T, 128), "face": (B, T, 128)}                         -> (B, T, D_fused)
  forward_temporal (B, T, D_fused)                                                   -> (B, T, 128)
  forward_head  (B, T, 128) -> (B, T, 2) logits (``lossAV.FC``; class 1 = speaking, > 0 means speaking)
  forward_aux_face (B, T, 128) visual embedding -> (B, T, 2) (``lossV.FC``, the visual-only head)
``forward_temporal``'s output is the authors' ``av_features`` (what goes into ``lossAV.FC``).

SE (``se=True`` or ``add_se()``): identity-at-init blocks (``IdentityInitSE``, excitation in (0, 2), exactly
1 at initialisation) named as ``ASDModel.se_blocks()`` names them:
  "face"   on the visual block3 map (B, 128, T, 14, 14) before the spatial max, per-frame squeeze
           (excitation (B, 128, T));
  "audio"  on the audio block3 map (B, 128, 13, T) before the mean over coefficients. With
           ``audio_squeeze="frame"`` (default) it sees the map as video (B, 128, T, 13, 1) and squeezes per
           audio frame (excitation (B, 128, T)), so the spectrogram attention can change over time; with
           "sample" it sees (B, 128, 13, T) and gives one vector per clip (B, 128);
  "fusion" over [audio | face] (B, 256, T, 1, 1) per frame (excitation (B, 256, T)); each half is scaled
           by its gate, then fused as the original (sum for Light-ASD, gated fusion for LR-ASD).
SE parameters live under ``se.*`` in the state dict; every other key is the published model's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from .pretrained_blocks import PREPROCESSING, AudioEncoder, IdentityInitSE, Preprocessing, VisualEncoder

EMBED_DIM = 128


@dataclass(frozen=True)
class PretrainedConfig:
    """What rebuilds a published model (with or without SE) before its state dict is loaded."""

    architecture: str
    se: bool = False
    se_reduction: int = 16
    audio_squeeze: str = "frame"
    se_activation: str = "relu"


class PretrainedASDModel(nn.Module):
    """Base of ``LightASD`` and ``LRASD``: encoders, SE placement, heads; subclasses define the back end."""

    architecture: str = ""
    #: (authors' key prefix, our key prefix): the explicit mapping used to load the published files
    key_prefixes: tuple[tuple[str, str], ...] = ()
    preprocessing: Preprocessing = PREPROCESSING
    modalities = ("audio", "face")

    def __init__(self, visual_encoder: VisualEncoder, audio_encoder: AudioEncoder, *, se: bool = False,
                 se_reduction: int = 16, audio_squeeze: str = "frame", se_activation: str = "relu") -> None:
        super().__init__()
        self.visual_encoder = visual_encoder
        self.audio_encoder = audio_encoder
        self.head = nn.Linear(EMBED_DIM, 2)
        self.aux_head = nn.Linear(EMBED_DIM, 2)
        self.se = nn.ModuleDict()
        self.frozen_backbone = False
        self._se_options = (se_reduction, audio_squeeze, se_activation)
        if se:
            self.add_se(se_reduction, audio_squeeze, se_activation)

    @property
    def pretrained_config(self) -> PretrainedConfig:
        """Architecture and SE options (``build_published(config)`` rebuilds the same module tree)."""
        reduction, audio_squeeze, activation = self._se_options
        return PretrainedConfig(self.architecture, bool(len(self.se)), reduction, audio_squeeze, activation)

    # ---- SE ------------------------------------------------------------------------------------
    def add_se(self, reduction: int = 16, audio_squeeze: str = "frame",
               activation: str = "relu") -> dict[str, IdentityInitSE]:
        """Attach the three identity-at-init SE blocks (outputs unchanged until they are trained)."""
        if len(self.se):
            raise ValueError(f"{self.architecture}: SE blocks are already attached ({list(self.se)})")
        if audio_squeeze not in ("frame", "sample"):
            raise ValueError(f"audio_squeeze must be 'frame' or 'sample', got {audio_squeeze!r}")
        self._se_options = (reduction, audio_squeeze, activation)
        c_face, c_audio = self.visual_encoder.out_channels, self.audio_encoder.out_channels
        self.se["face"] = IdentityInitSE(c_face, reduction, "frame", activation)
        self.se["audio"] = IdentityInitSE(c_audio, reduction, audio_squeeze, activation)  # type: ignore[arg-type]
        self.se["fusion"] = IdentityInitSE(c_audio + c_face, reduction, "frame", activation)
        param = next(self.visual_encoder.parameters())
        self.se.to(device=param.device, dtype=param.dtype)
        return self.se_blocks()

    def se_blocks(self) -> dict[str, IdentityInitSE]:
        """{"face", "audio", "fusion"} -> SE block; empty without SE."""
        return dict(self.se.items())  # type: ignore[arg-type]

    # ---- per-modality stages -------------------------------------------------------------------
    def forward_face(self, face: torch.Tensor) -> torch.Tensor:
        """Normalised grey crops (B, T, H, W), (B, T, 1, H, W) or (B, 1, T, H, W) -> (B, T, 128)."""
        return self.face_embedding(self.visual_encoder.feature_map(face_video(face)))  # maps (B, 128, T, 14, 14)

    def face_embedding(self, maps: torch.Tensor) -> torch.Tensor:
        """The visual encoder's last map (B, C, T, h, w) -> (B, T, C): the face SE when attached, then the
        per-frame spatial max."""
        if "face" in self.se:
            maps = self.se["face"](maps)
        return self.visual_encoder.pool(maps)

    def forward_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 4T, 13) MFCC -> (B, T, 128) (T = ceil(ceil(4T / 2) / 2))."""
        if audio.dim() != 3 or audio.shape[2] != self.preprocessing.n_mfcc:
            raise ValueError(f"{self.architecture}: audio must be (B, 4T, {self.preprocessing.n_mfcc}) MFCC, "
                             f"got {tuple(audio.shape)}")
        maps = self.audio_encoder.feature_map(audio.unsqueeze(1).transpose(2, 3))  # (B, 128, 13, T)
        if "audio" in self.se:
            maps = self._audio_se(maps)
        return self.audio_encoder.pool(maps)

    def _audio_se(self, maps: torch.Tensor) -> torch.Tensor:
        se = self.se["audio"]
        if se.squeeze == "frame":  # (B, C, F, T) -> video (B, C, T, F, 1): one excitation per audio frame
            return se(maps.transpose(2, 3).unsqueeze(-1))[..., 0].transpose(2, 3)
        return se(maps)

    def forward_aux_face(self, visual_embedding: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) -> (B, T, 2) logits of the visual-only head (``lossV.FC``)."""
        return self.aux_head(visual_embedding)

    # ---- joint stages --------------------------------------------------------------------------
    def forward_fusion(self, embeddings: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """{"audio": (B, T, 128), "face": (B, T, 128)} -> (B, T, D_fused), fusion SE first when attached."""
        return self.fuse(*self.fusion_inputs(embeddings))

    def fusion_inputs(self, embeddings: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The (audio, face) embeddings (B, T, 128) as the published fusion sees them (SE-scaled if attached)."""
        missing = [m for m in self.modalities if m not in embeddings]
        if missing:
            raise ValueError(f"{self.architecture}: fusion needs {list(self.modalities)}; missing {missing}")
        audio, face = embeddings["audio"], embeddings["face"]
        if audio.shape[:2] != face.shape[:2]:
            raise ValueError(f"{self.architecture}: audio {tuple(audio.shape)} and face {tuple(face.shape)} "
                             "embeddings disagree on batch or frames (audio needs 4 MFCC frames per video frame)")
        if "fusion" not in self.se:
            return audio, face
        joint = torch.cat([audio, face], dim=2).transpose(1, 2)[..., None, None]  # (B, 256, T, 1, 1)
        scaled = self.se["fusion"](joint)[..., 0, 0].transpose(1, 2)
        return scaled[..., :audio.shape[2]], scaled[..., audio.shape[2]:]

    def fuse(self, audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) x2 -> (B, T, D_fused): the published fusion."""
        raise NotImplementedError

    def forward_temporal(self, fused: torch.Tensor) -> torch.Tensor:
        """(B, T, D_fused) -> (B, T, 128) audio-visual features (the input of ``lossAV.FC``)."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) -> (B, T, 2) logits; class 1 = speaking."""
        return self.head(features)

    def forward(self, face: torch.Tensor | None = None, audio: torch.Tensor | None = None,
                **unused: Any) -> dict[str, Any]:
        """All stages. Returns {"logits": (B, T, 2), "aux_logits": {"face": (B, T, 2)}}."""
        if face is None or audio is None:
            raise ValueError(f"{self.architecture} needs face and audio inputs")
        embeddings = {"audio": self.forward_audio(audio), "face": self.forward_face(face)}
        logits = self.forward_head(self.forward_temporal(self.forward_fusion(embeddings)))
        return {"logits": logits, "aux_logits": {"face": self.forward_aux_face(embeddings["face"])}}

    # ---- training helpers ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "PretrainedASDModel":
        """As nn.Module.train; with a frozen backbone (``freeze_except_se``) only SE blocks switch mode."""
        super().train(mode)
        if self.frozen_backbone:
            for name, child in self.named_children():
                if name != "se":
                    child.eval()
        return self

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def face_video(face: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W), (B, T, 1, H, W) or (B, 1, T, H, W) -> (B, 1, T, H, W)."""
    if face.dim() == 4:
        return face.unsqueeze(1)
    if face.dim() == 5 and face.shape[1] == 1:
        return face
    if face.dim() == 5 and face.shape[2] == 1:
        return face.transpose(1, 2)
    raise ValueError(f"face must be grey crops (B, T, H, W), (B, T, 1, H, W) or (B, 1, T, H, W), "
                     f"got {tuple(face.shape)}")


def freeze_except_se(model: PretrainedASDModel) -> list[nn.Parameter]:
    """Freeze every published weight (no grad, BN/dropout kept in eval mode); return the SE parameters."""
    if not len(model.se):
        raise ValueError(f"{model.architecture}: no SE blocks to train; build with se=True or call add_se()")
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = list(model.se.parameters())
    for p in trainable:
        p.requires_grad_(True)
    model.frozen_backbone = True
    model.train(model.training)
    return trainable
