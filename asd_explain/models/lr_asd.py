"""LR-ASD (Liao et al., IJCV 2025) as its published AVA weights define it (see docs/pretrained.md).

Blocks are one sequential path, each conv followed by BN + ReLU, no conv bias:
  visual: spatial (1, 5, 5) in -> out/2 (stride (1, 2, 2) when down-sampling), spatial (1, 3, 3) out/2 -> out,
          temporal (5, 1, 1), temporal (3, 1, 1);
  audio:  (5, 1), (3, 1) over coefficients, then (1, 5), (1, 3) over time.
Fusion: ``x * sigmoid(BN1d(conv1d 1x1(x)))`` over [audio | visual] (256 channels per frame): its gate is a
native per-frame modality weight (``native_modality_gate``). Detector: a forward GRU (256 -> 64) on x and a
second GRU (256 -> 64) on x reversed in time (output reversed back), concatenated [forward | backward] (128),
then the same gate -> ``lossAV.FC``.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from .pretrained_blocks import AudioEncoder, ChannelGate, VisualEncoder, batch_norm, conv_bn_relu
from .pretrained_model import EMBED_DIM, PretrainedASDModel

ARCHITECTURE = "lr-asd"
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
GRU_HIDDEN = 64


def _bn(dim: int, channels: int) -> nn.Module:
    return batch_norm(dim, channels, BN_EPS, BN_MOMENTUM)


class _SequentialBlock(nn.Module):
    """Four convs, each -> BN -> ReLU, applied in order (names ``<a>_1, <a>_norm_1, <a>_2, ...``)."""

    order: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = conv_bn_relu(getattr(self, name), getattr(self, name.replace("_", "_norm_")), x)
        return x


class LRVisualBlock(_SequentialBlock):
    """(B, in, T, H, W) -> (B, out, T, H', W')."""

    order = ("s_1", "s_2", "t_1", "t_2")
    temporal_radius = 3  # temporal convs of 5 then 3 frames

    def __init__(self, in_ch: int, out_ch: int, downsample: bool) -> None:
        super().__init__()
        half = out_ch // 2
        stride = (1, 2, 2) if downsample else (1, 1, 1)
        self.s_1 = nn.Conv3d(in_ch, half, (1, 5, 5), stride, (0, 2, 2), bias=False)
        self.s_norm_1 = _bn(3, half)
        self.s_2 = nn.Conv3d(half, out_ch, (1, 3, 3), 1, (0, 1, 1), bias=False)
        self.s_norm_2 = _bn(3, out_ch)
        self.t_1 = nn.Conv3d(out_ch, out_ch, (5, 1, 1), 1, (2, 0, 0), bias=False)
        self.t_norm_1 = _bn(3, out_ch)
        self.t_2 = nn.Conv3d(out_ch, out_ch, (3, 1, 1), 1, (1, 0, 0), bias=False)
        self.t_norm_2 = _bn(3, out_ch)


class LRAudioBlock(_SequentialBlock):
    """(B, in, F, L) -> (B, out, F, L)."""

    order = ("m_1", "m_2", "t_1", "t_2")

    def __init__(self, in_ch: int, out_ch: int, downsample: bool = False) -> None:
        super().__init__()
        if downsample:
            raise ValueError("the LR-ASD audio block does not down-sample")
        half = out_ch // 2
        self.m_1 = nn.Conv2d(in_ch, half, (5, 1), 1, (2, 0), bias=False)
        self.m_norm_1 = _bn(2, half)
        self.m_2 = nn.Conv2d(half, out_ch, (3, 1), 1, (1, 0), bias=False)
        self.m_norm_2 = _bn(2, out_ch)
        self.t_1 = nn.Conv2d(out_ch, out_ch, (1, 5), 1, (0, 2), bias=False)
        self.t_norm_1 = _bn(2, out_ch)
        self.t_2 = nn.Conv2d(out_ch, out_ch, (1, 3), 1, (0, 1), bias=False)
        self.t_norm_2 = _bn(2, out_ch)


class GatedBiGRUDetector(nn.Module):
    """(B, T, 256) -> (B, T, 128): [GRU(x) | reversed GRU(reversed x)] -> channel gate."""

    def __init__(self, in_dim: int = 2 * EMBED_DIM, hidden: int = GRU_HIDDEN, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.gru_forward = nn.GRU(in_dim, hidden, batch_first=True)
        self.gru_backward = nn.GRU(in_dim, hidden, batch_first=True)
        self.attention = ChannelGate(2 * hidden, BN_EPS, BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x)
        forward = self.gru_forward(x)[0]
        backward = torch.flip(self.gru_backward(torch.flip(x, dims=[1]))[0], dims=[1])
        return self.attention(torch.cat([forward, backward], dim=2))


class LRASD(PretrainedASDModel):
    """LR-ASD: gated [audio | visual] fusion + gated bidirectional GRU. ~0.84M parameters + heads."""

    architecture = ARCHITECTURE
    key_prefixes = (
        ("model.visualEncoder.", "visual_encoder."),
        ("model.audioEncoder.", "audio_encoder."),
        ("model.fusion.", "fusion_gate."),
        ("model.detector.", "temporal."),
        ("lossAV.FC.", "head."),
        ("lossV.FC.", "aux_head."),
    )

    def __init__(self, *, se: bool = False, se_reduction: int = 16, audio_squeeze: str = "frame",
                 se_activation: str = "relu") -> None:
        super().__init__(VisualEncoder(LRVisualBlock), AudioEncoder(LRAudioBlock),
                         se=se, se_reduction=se_reduction, audio_squeeze=audio_squeeze, se_activation=se_activation)
        self.fusion_gate = ChannelGate(2 * EMBED_DIM, BN_EPS, BN_MOMENTUM)
        self.temporal = GatedBiGRUDetector()

    def fuse(self, audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B, T, 128) x2 -> (B, T, 256): [audio | face] * sigmoid(BN(conv1x1([audio | face])))."""
        return self.fusion_gate(torch.cat([audio, face], dim=2))

    def forward_temporal(self, fused: torch.Tensor) -> torch.Tensor:
        """(B, T, 256) -> (B, T, 128)."""
        return self.temporal(fused)

    def native_modality_gate(self, embeddings: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The published fusion gate w: {"audio", "face": (B, T, 128)} -> (B, T, 256) in (0, 1).

        Channels 0..127 weigh the audio embedding, 128..255 the face embedding (after the fusion SE, when
        attached, exactly as ``forward_fusion`` sees them). ``modality_gate_shares`` turns it into shares.
        """
        return self.fusion_gate.gate(torch.cat(self.fusion_inputs(embeddings), dim=2))

def modality_gate_shares(gate: torch.Tensor, dim: int = EMBED_DIM) -> dict[str, torch.Tensor]:
    """(B, T, 2*dim) gate -> {"audio": (B, T), "face": (B, T)}: each half's mean weight, and "audio_share"
    = mean_audio / (mean_audio + mean_face) (B, T)."""
    audio, face = gate[..., :dim].mean(dim=-1), gate[..., dim:].mean(dim=-1)
    return {"audio": audio, "face": face, "audio_share": audio / (audio + face).clamp_min(1e-12)}
