"""``ModelConfig``: every choice of the ASD model, as a dataclass that round-trips through YAML.

The defaults build the light face + body + audio model (1.74M parameters) with SE blocks before
fusion. Variants are config changes only: ``modalities: [audio, face]`` (face + audio),
``[audio, body]``, ``[face]`` (no audio); ``se: false`` (identity in place of every SE block);
``visual_encoder: resnet18`` (BIAS-like trunk).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..constants import MODALITIES

MODALITY_ORDER = MODALITIES  # the fusion order [audio | face | body], part of every checkpoint
AUDIO_FEATURES = ("logmel", "mfcc")
TEMPORAL_MODELS = ("gru", "attention", "conv", "none")
SQUEEZES = ("sample", "frame")
AV_INTERACTIONS = ("correlation", "products", "none")


@dataclass
class ModelConfig:
    """The ASD model's architecture.

    modalities:        streams the model reads, any non-empty subset of audio, face, body.
    visual_encoder:    "light" ((2+1)-D convs, ~0.25M parameters) or "resnet18" (3-D stem + ResNet18).
    audio_encoder:     "light" (2-D convs, ~0.3M) or "resnet18" (2-D ResNet18-like).
    audio_feature:     "logmel" or "mfcc" (13 coefficients, TalkNet/BIAS-compatible); documents what
                       the audio input is, checked against the store's preprocessing.
    n_audio_features:  F, the frequency size of the audio input (B, 4T, F): n_mels or 13 for MFCC.
    face_channels / body_channels: 1 (grayscale) or 3 (RGB) input channels per crop.
    embed_dim:         per-modality embedding size per frame (BIAS: 128).
    visual_widths / audio_widths: channels per stage of the light encoders (last = SE channels).
    se:                SE blocks on (True) or identity in their place (False).
    fusion_se:         the modality-importance SE over [audio | face | body] (only when ``se``).
    se_reduction:      bottleneck ratio of every SE block.
    visual_squeeze:    "frame" (one excitation per frame) or "sample" (one per clip, as BIAS).
    visual_map_stride: output stride of the light visual encoders' last map: 16 (7x7 for 112 px crops) or
                       8 (14x14: no max-pool after the second stage; same parameters, ~2x the FLOPs).
    fusion_squeeze:    "frame" (modality shares per frame) or "sample" (per clip).
    modality_temporal_kernel: kernel of the residual temporal conv after each encoder (0 = none).
    av_interaction:    audio-visual features appended before the temporal model (needs audio and a
                       visual stream; ignored otherwise): "correlation" (windowed Pearson correlations of
                       learned audio / visual projections), "products" (per-frame products), "none".
    av_components:     K: projections per stream (correlation: K*K features; products: K features).
    av_window_frames:  correlation window in frames (odd; 25 = 1 s at 25 fps).
    temporal:          after fusion: "gru" (bidirectional), "attention" (self-attention), "conv", "none".
    temporal_hidden:   hidden size of the temporal model (per direction for the GRU).
    attention_heads:   heads of the self-attention temporal model.
    dropout:           dropout before the heads.
    aux_heads:         per-modality auxiliary heads (loss weight in TrainConfig, BIAS: 0.4).
    num_classes:       2: index 1 = SPEAKING_AUDIBLE.
    """

    modalities: tuple[str, ...] = MODALITY_ORDER
    visual_encoder: str = "light"
    audio_encoder: str = "light"
    audio_feature: str = "logmel"
    n_audio_features: int = 40
    face_channels: int = 1
    body_channels: int = 1
    embed_dim: int = 128
    visual_widths: tuple[int, ...] = (16, 32, 48, 96)
    audio_widths: tuple[int, ...] = (16, 32, 64, 128)
    se: bool = True
    fusion_se: bool = True
    se_reduction: int = 16
    visual_squeeze: str = "frame"
    visual_map_stride: int = 16
    fusion_squeeze: str = "frame"
    modality_temporal_kernel: int = 5
    av_interaction: str = "correlation"
    av_components: int = 8
    av_window_frames: int = 25
    temporal: str = "gru"
    temporal_hidden: int = 128
    attention_heads: int = 4
    dropout: float = 0.1
    aux_heads: bool = True
    num_classes: int = 2

    def __post_init__(self) -> None:
        self.modalities = tuple(self.modalities)
        self.visual_widths = tuple(int(w) for w in self.visual_widths)
        self.audio_widths = tuple(int(w) for w in self.audio_widths)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a one-line reason when a field is out of its domain."""
        unknown = [m for m in self.modalities if m not in MODALITY_ORDER]
        if not self.modalities or unknown:
            raise ValueError(f"modalities must be a non-empty subset of {list(MODALITY_ORDER)}, got "
                             f"{list(self.modalities)}")
        if len(set(self.modalities)) != len(self.modalities):
            raise ValueError(f"modalities has duplicates: {list(self.modalities)}")
        _check_choice("audio_feature", self.audio_feature, AUDIO_FEATURES)
        _check_choice("temporal", self.temporal, TEMPORAL_MODELS)
        _check_choice("av_interaction", self.av_interaction, AV_INTERACTIONS)
        _check_choice("visual_squeeze", self.visual_squeeze, SQUEEZES)
        _check_choice("fusion_squeeze", self.fusion_squeeze, SQUEEZES)
        for name in ("n_audio_features", "face_channels", "body_channels", "embed_dim", "se_reduction",
                     "temporal_hidden", "attention_heads", "av_components", "av_window_frames"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.audio_feature == "mfcc" and self.n_audio_features != 13:
            raise ValueError(f"audio_feature mfcc has 13 coefficients; n_audio_features is {self.n_audio_features}")
        if self.visual_map_stride not in (8, 16) or (self.visual_map_stride != 16 and self.visual_encoder != "light"):
            raise ValueError(f"visual_map_stride must be 16, or 8 with the light visual encoder; got "
                             f"{self.visual_map_stride} with {self.visual_encoder}")
        if len(self.visual_widths) != 4 or len(self.audio_widths) != 4:
            raise ValueError("visual_widths and audio_widths need 4 stage widths each")
        if self.modality_temporal_kernel < 0 or (self.modality_temporal_kernel and
                                                 self.modality_temporal_kernel % 2 == 0):
            raise ValueError(f"modality_temporal_kernel must be 0 or odd, got {self.modality_temporal_kernel}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.num_classes != 2:
            raise ValueError(f"num_classes must be 2 (NOT_SPEAKING, SPEAKING_AUDIBLE), got {self.num_classes}")

    @property
    def ordered_modalities(self) -> tuple[str, ...]:
        """The modalities in fusion order [audio | face | body]."""
        return tuple(m for m in MODALITY_ORDER if m in self.modalities)

    @property
    def uses_av_interaction(self) -> bool:
        return self.av_interaction != "none" and "audio" in self.modalities and len(self.modalities) > 1

    @property
    def uses_fusion_se(self) -> bool:
        return self.se and self.fusion_se


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
