"""Constants the whole toolkit shares, defined once.

MODALITIES is the model's order: the fusion SE concatenates the streams as [audio | face | body], so the
order is part of every saved checkpoint (its fusion weights) and of every per-modality table the
toolkit writes; everything that lists modalities uses this tuple (or a subset of it, in this order).
"""
from __future__ import annotations

MODALITIES: tuple[str, ...] = ("audio", "face", "body")
VISUAL_MODALITIES: tuple[str, ...] = ("face", "body")

SAMPLE_RATE_HZ = 16000  # audio of the track store, the audio features and the explained videos

# crop normalisation (x / 255 - mean) / std: grey crops (the default); RGB crops and the image recipe use
# the ImageNet statistics
GREY_MEAN, GREY_STD = 0.4161, 0.1688
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

# the paper's SE channel threshold mean + z * std: z = 1.282 keeps the top 10% of a normal distribution
DEFAULT_Z = 1.282
