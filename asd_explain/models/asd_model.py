"""The face + body + audio active speaker model with SE blocks before fusion.

Stages (each callable on its own, DESIGN.md's model contract):
  forward_face  (B, T, Cf, H, W) -> (B, T, D)   visual encoder, ends with its SE block before pooling
  forward_body  (B, T, Cb, H, W) -> (B, T, D)   same architecture, own weights
  forward_audio (B, 4T, F)       -> (B, T, D)   time-frequency encoder, SE block before frequency pooling
  forward_fusion {m: (B, T, D)}  -> (B, T, M*D) concat [audio | face | body] + SE (modality importance)
  forward_temporal (B, T, M*D)   -> (B, T, H)   audio-visual correlations, then GRU / attention / conv
  forward_head  (B, T, H)        -> (B, T, 2)   per-frame logits, class 1 = SPEAKING_AUDIBLE
Auxiliary heads give per-modality logits (B, T, 2) for the BIAS loss. No device is hard-coded: the model
runs wherever its parameters are.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from ..data.audio_features import AudioFeatureConfig, silence_features
from ..se.block import SqueezeExcite
from ..se.capture import SECapture
from .blocks import ResidualTemporalConv
from .config import ModelConfig
from .fusion import ModalityFusion, modality_shares
from .heads import FrameHead, speaking_probability
from .registry import build_encoder
from .temporal import build_av_interaction, build_temporal

ARCHITECTURE = "asd_explain.ASDModel"


class ASDModel(nn.Module):
    """Two-stream face/body + audio ASD model; every prediction carries its SE explanation."""

    architecture = ARCHITECTURE

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        self.modalities = config.ordered_modalities
        self.encoders = nn.ModuleDict({m: build_encoder(config, m) for m in self.modalities})
        kernel = config.modality_temporal_kernel
        self.modality_temporal = nn.ModuleDict({
            m: ResidualTemporalConv(config.embed_dim, kernel) if kernel else nn.Identity() for m in self.modalities
        })
        self.fusion = ModalityFusion(self.modalities, config.embed_dim, se=config.uses_fusion_se,
                                     reduction=config.se_reduction, squeeze=config.fusion_squeeze)
        self.av_interaction = build_av_interaction(config)
        temporal_in = getattr(self.av_interaction, "out_dim", self.fusion.out_dim)
        self.temporal = build_temporal(config.temporal, temporal_in, config.temporal_hidden,
                                       config.attention_heads, config.dropout)
        self.head = FrameHead(self.temporal.out_dim, config.num_classes, config.dropout)
        self.aux_heads = nn.ModuleDict({
            m: FrameHead(config.embed_dim, config.num_classes, config.dropout) for m in self.modalities
        }) if config.aux_heads else None
        self.preprocessing: Any = None  # a checkpoint's data.preprocessing.Preprocessing (set by load_model)

    # ---- per-modality stages -------------------------------------------------------------------
    def forward_face(self, face: torch.Tensor) -> torch.Tensor:
        """(B, T, Cf, H, W) normalised face crops -> (B, T, D) embeddings."""
        return self._forward_modality("face", face)

    def forward_body(self, body: torch.Tensor) -> torch.Tensor:
        """(B, T, Cb, Hb, Wb) body crops -> (B, T, D) embeddings."""
        return self._forward_modality("body", body)

    def forward_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 4T, F) log-mel or MFCC frames -> (B, T, D) embeddings."""
        return self._forward_modality("audio", audio)

    def _forward_modality(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        if modality not in self.encoders:
            raise ValueError(f"this model has no {modality} stream (modalities: {list(self.modalities)})")
        self._check_input(modality, x)
        return self.modality_temporal[modality](self.encoders[modality](x))

    # ---- joint stages --------------------------------------------------------------------------
    def forward_fusion(self, embeddings: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """{modality: (B, T, D)} -> (B, T, M*D), SE-gated concatenation [audio | face | body]."""
        lengths = {m: e.shape[1] for m, e in embeddings.items() if m in self.modalities}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"streams disagree on the number of video frames: {lengths}")
        return self.fusion(dict(embeddings))

    def forward_temporal(self, fused: torch.Tensor) -> torch.Tensor:
        """(B, T, M*D) -> (B, T, H): audio-visual correlations / products (if on), then the temporal model."""
        return self.temporal(self.av_interaction(fused))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, T, 2) logits; softmax[..., 1] is the speaking score."""
        return self.head(features)

    def forward(self, face: torch.Tensor | None = None, body: torch.Tensor | None = None,
                audio: torch.Tensor | None = None) -> dict[str, Any]:
        """All stages. Returns {"logits": (B, T, 2), "aux_logits": {modality: (B, T, 2)}}."""
        inputs = {"face": face, "body": body, "audio": audio}
        missing = [m for m in self.modalities if inputs[m] is None]
        if missing:
            raise ValueError(f"the model needs {list(self.modalities)}; missing input {missing}")
        stages = {"face": self.forward_face, "body": self.forward_body, "audio": self.forward_audio}
        embeddings = {m: stages[m](inputs[m]) for m in self.modalities}
        logits = self.forward_head(self.forward_temporal(self.forward_fusion(embeddings)))
        aux = {m: head(embeddings[m]) for m, head in self.aux_heads.items()} if self.aux_heads is not None else {}
        return {"logits": logits, "aux_logits": aux}

    # ---- explanation ---------------------------------------------------------------------------
    def se_blocks(self) -> dict[str, SqueezeExcite]:
        """The SE blocks by name: "audio", "face", "body" (encoders) and "fusion"; empty without SE."""
        blocks = {m: enc.se for m, enc in self.encoders.items() if isinstance(enc.se, SqueezeExcite)}
        if isinstance(self.fusion.se, SqueezeExcite):
            blocks["fusion"] = self.fusion.se
        return blocks

    def fusion_layout(self) -> tuple[tuple[str, int], ...]:
        """(modality, channels) of the fusion SE's gate, in channel order [audio | face | body]."""
        return self.fusion.layout()

    def blank_input(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """The input of a missing ``modality`` shaped like ``x``: crops at the normalisation mean (zeros in
        normalised space); audio: the features of silence (an all-zero waveform) in every audio frame."""
        if modality != "audio":
            return torch.zeros_like(x)
        c = self.config
        n_mels = c.n_audio_features if c.audio_feature == "logmel" else 40
        feature = AudioFeatureConfig(kind=c.audio_feature, n_mels=n_mels)
        return torch.from_numpy(silence_features(feature)).to(x).expand_as(x).clone()

    @torch.no_grad()
    def explain_forward(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """One no-grad forward that captures every SE output (``se.capture.SECapture``, hooks released after).

        Returns {"logits": (B, T, 2), "scores": (B, T), "se": {name: {"excitation", "scaled"}},
        "modality_shares": {modality: (B, T) or (B,)} (absent without a fusion SE)}. Visual ``scaled``
        maps are (B, C, T, h, w) with excitation (B, C, T) (per-frame squeeze) or (B, C); the audio map is
        (B, C, F', T) with excitation (B, C); the fusion block's are (B, M*D, T) and (B, M*D, T) or (B, M*D).
        Works in the current train/eval mode (call ``eval()`` first for inference).
        """
        with SECapture(self.se_blocks(), outputs=True) as capture:
            out = self(**model_inputs(batch, self.modalities, self.device))
        se = {name: {"excitation": capture.gates[name], "scaled": capture.outputs[name]} for name in capture.gates}
        if "fusion" in se and se["fusion"]["scaled"].dim() == 5:  # (B, C, T, 1, 1) -> (B, C, T)
            se["fusion"]["scaled"] = se["fusion"]["scaled"][..., 0, 0]
        result: dict[str, Any] = {"logits": out["logits"], "scores": speaking_probability(out["logits"]), "se": se}
        if "fusion" in se:
            result["modality_shares"] = modality_shares(se["fusion"]["excitation"], self.fusion.modalities,
                                                        self.fusion.dim)
        return result

    # ---- helpers -------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check_input(self, modality: str, x: torch.Tensor) -> None:
        c = self.config
        if modality == "audio":
            if x.dim() != 3 or x.shape[2] != c.n_audio_features or x.shape[1] % 4:
                raise ValueError(f"audio must be (B, 4T, {c.n_audio_features}) {c.audio_feature} features, "
                                 f"got {tuple(x.shape)}")
            return
        channels = c.face_channels if modality == "face" else c.body_channels
        if x.dim() != 5 or x.shape[2] != channels:
            raise ValueError(f"{modality} must be (B, T, {channels}, H, W) crops, got {tuple(x.shape)}")


def build_model(config: ModelConfig | None = None) -> ASDModel:
    """The ASD model of ``config`` (default: light face + body + audio with SE)."""
    return ASDModel(config or ModelConfig())


def model_inputs(batch: Mapping[str, Any], modalities: tuple[str, ...],
                 device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
    """The model's inputs from a loader batch dict, moved to ``device``; a clear error if one is missing."""
    missing = [m for m in modalities if batch.get(m) is None]
    if missing:
        raise ValueError(f"batch has no {missing} but the model needs {list(modalities)} "
                         f"(batch keys: {sorted(k for k, v in batch.items() if v is not None)})")
    non_blocking = device is not None and torch.device(device).type == "cuda"
    return {m: batch[m].to(device, non_blocking=non_blocking) if device is not None else batch[m]
            for m in modalities}
