"""Map references: what each SE-scaled channel's activity is measured against before it becomes a map.

Each reference is one small function registered by name; ``MAP_REFERENCES`` (name -> function) is what
``MapSettings`` validates against and what the command line offers. Adding a reference is adding a
function here::

    @register_reference("my-reference")
    def my_reference(block: BlockMaps, settings: MapSettings) -> torch.Tensor:
        return kept_channel_maps(block.scaled.abs(), block, settings)

A reference returns small maps in the block's own grid, not yet upsampled nor scaled to [0, 1]:
(B, T, h, w) for visual blocks, (B, F', T') for the audio block.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from .map_ops import clip_mean, local_std, speaking_weights, valid_steps
from .se_maps import se_heatmaps

MapSettings = Any  # a ``map_settings.MapSettings`` (not imported here: that module validates against this registry)


@dataclass
class BlockMaps:
    """One SE block's output in a batch: ``scaled`` (B, C, T, h, w) or (B, C, F', T'), ``excitation``
    (B, C) or (B, C, T), the speaking ``scores`` (B, T) of the same forward, each item's valid frames
    ``lengths`` and the axis of time in ``scaled``."""

    scaled: torch.Tensor
    excitation: torch.Tensor
    scores: torch.Tensor
    lengths: list[int]
    time_dim: int

    @property
    def frames(self) -> int:
        return self.scores.shape[1]

    @property
    def valid(self) -> torch.Tensor:
        """(B, steps) 1.0 on each item's real steps of ``scaled``'s time axis."""
        return valid_steps(self.scaled, self.lengths, self.time_dim, self.frames)


MapReference = Callable[[BlockMaps, MapSettings], torch.Tensor]
MAP_REFERENCES: dict[str, MapReference] = {}


def register_reference(name: str) -> Callable[[MapReference], MapReference]:
    """Decorator: register a reference function under ``name``."""
    def add(function: MapReference) -> MapReference:
        if name in MAP_REFERENCES:
            raise ValueError(f"map reference {name!r} is already registered")
        MAP_REFERENCES[name] = function
        return function
    return add


def reference_maps(name: str, block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """The maps of ``block`` under the registered reference ``name`` (float, block grid)."""
    if name not in MAP_REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(MAP_REFERENCES)}, got {name!r}")
    return MAP_REFERENCES[name](block, settings).float()


def kept_channel_maps(activity: torch.Tensor, block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """Sum of ``activity`` (shaped like ``block.scaled``) over the channels the excitation keeps."""
    return se_heatmaps(activity, block.excitation, None, z=settings.z, top_percent=settings.top_percent,
                       interpolation=settings.interpolation, normalize="none").maps


@register_reference("zero")
def zero(block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """The paper's maps: the SE-scaled activations of the kept channels."""
    return kept_channel_maps(block.scaled, block, settings)


@register_reference("clip-mean")
def from_clip_mean(block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """How far each kept channel is from its own mean over the item's frames: what differs in this frame
    from the person's average frame / the clip's average sound."""
    distance = (block.scaled - clip_mean(block.scaled, block.valid, block.time_dim)).abs()
    return kept_channel_maps(distance, block, settings)


@register_reference("speaking")
def speaking(block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """Every channel (ignores z / top_percent) weighted by its excitation times how positively its activity
    co-varies with the speaking logit over the item, drawn as its rise above its own clip mean."""
    valid = block.valid
    weights = speaking_weights(block.scaled, block.excitation, block.scores, valid, block.time_dim)  # (B, C)
    rise = (block.scaled.float() - clip_mean(block.scaled.float(), valid, block.time_dim)).clamp_min(0.0)
    ones = [1] * (block.scaled.dim() - 2)
    total = weights.sum(dim=1).clamp_min(1e-12).view(-1, *ones)
    return (weights.view(*weights.shape, *ones) * rise).sum(dim=1) / total


@register_reference("motion")
def motion(block: BlockMaps, settings: MapSettings) -> torch.Tensor:
    """Each kept channel's standard deviation over ``settings.motion_window`` frames centred on the frame
    (the same span in time on the audio map): where the features change around this frame."""
    half = round((settings.motion_window // 2) * block.scaled.shape[block.time_dim] / max(block.frames, 1))
    return kept_channel_maps(local_std(block.scaled, block.valid, block.time_dim, half), block, settings)
