"""Builders keyed by name: the encoder of each modality from a ``ModelConfig`` (the whole model:
``asd_model.build_model``).

``VISUAL_ENCODERS`` / ``AUDIO_ENCODERS`` map a config name to a builder ``(config, in_channels) -> module``;
a new encoder is one more entry (the CLI and configs pick it up by name).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from .audio import LightAudioEncoder, ResNet18AudioEncoder
from .config import ModelConfig
from .visual import LightVisualEncoder, ResNet18VisualEncoder

EncoderBuilder = Callable[[ModelConfig, int], nn.Module]

VISUAL_ENCODERS: dict[str, EncoderBuilder] = {
    "light": lambda c, in_ch: LightVisualEncoder(in_ch, c.visual_widths, c.embed_dim, se=c.se,
                                                 reduction=c.se_reduction, squeeze=c.visual_squeeze,
                                                 map_stride=c.visual_map_stride),
    "resnet18": lambda c, in_ch: ResNet18VisualEncoder(in_ch, c.embed_dim, se=c.se, reduction=c.se_reduction,
                                                       squeeze=c.visual_squeeze),
}

AUDIO_ENCODERS: dict[str, EncoderBuilder] = {
    "light": lambda c, _: LightAudioEncoder(c.audio_widths, c.embed_dim, n_features=c.n_audio_features, se=c.se,
                                            reduction=c.se_reduction),
    "resnet18": lambda c, _: ResNet18AudioEncoder(c.embed_dim, n_features=c.n_audio_features, se=c.se,
                                                  reduction=c.se_reduction),
}


def build_encoder(config: ModelConfig, modality: str) -> nn.Module:
    """The encoder of one modality ("audio", "face" or "body") as named in ``config``."""
    if modality == "audio":
        return _lookup(AUDIO_ENCODERS, config.audio_encoder, "audio_encoder")(config, 1)
    in_channels = config.face_channels if modality == "face" else config.body_channels
    return _lookup(VISUAL_ENCODERS, config.visual_encoder, "visual_encoder")(config, in_channels)


def _lookup(table: dict[str, EncoderBuilder], name: str, field: str) -> EncoderBuilder:
    if name not in table:
        raise ValueError(f"unknown {field} {name!r} (choose {', '.join(sorted(table))})")
    return table[name]
