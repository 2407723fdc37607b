"""Face heatmaps of a published model with (distilled) SE blocks, per frame of a prepared track.

``PRETRAINED_FACE_MAPS`` is the default for the published models: every channel of the SE-scaled face map,
i.e. each weighted by its excitation (``MapSettings(top_percent=100)``), bicubic. Why not the paper's
top-channel rule: these backbones were trained without SE, so what they know about a face is spread over
many channels, and the distilled gates (trained to keep the teacher's output, not to concentrate it) order
channels only weakly; a hard 10% cut then keeps a noisy handful of maps, while the excitation-weighted
mean uses the gates as weights and keeps every channel's evidence (measurements: docs/pretrained.md,
"Distilled SE gates").

Variants measured (``MAP_VARIANTS``), each a ``MapSettings`` on the face block (``explain.references``):
  paper            channels above mean + 1.282 std of the frame's face excitation, mean of their SE-scaled
                   maps, bicubic (``MapSettings()``);
  paper-bilinear   the same, bilinear;
  all-weighted     every channel's SE-scaled map (``top_percent=100``): the default;
  motion           the paper's channels, each one's standard deviation over 25 frames (1 s) around the
                   frame (``reference="motion"``);
  motion-all       the motion reference over every channel;
and two baselines without SE: ``no-se``, the mean of all channels of the unscaled map (the teacher's view,
every gate 1), and ``centre``, no model: the maximum at the crop's centre (the authors' crop is centred
0.4 box half-sizes below the face box centre, near the mouth, so this is the level to beat).
"""
from __future__ import annotations

import numpy as np
import torch

from ..explain.av_se import resize_maps, unit_range
from ..explain.map_settings import MapSettings
from ..explain.references import BlockMaps, reference_maps
from .forward import FeatureMaps, audio_feature_map, face_feature_map, student_logits

PRETRAINED_FACE_MAPS = MapSettings(top_percent=100.0)
SE_VARIANTS: dict[str, MapSettings] = {
    "paper": MapSettings(),
    "paper-bilinear": MapSettings(interpolation="bilinear"),
    "all-weighted": PRETRAINED_FACE_MAPS,
    "motion": MapSettings(reference="motion"),
    "motion-all": MapSettings(reference="motion", top_percent=100.0),
}
MAP_VARIANTS = (*SE_VARIANTS, "no-se", "centre")


@torch.no_grad()
def face_heatmaps(model, maps: FeatureMaps, variant: str | MapSettings = "all-weighted",
                  size: int = 112) -> torch.Tensor:
    """(T, size, size) face heatmaps of one whole track from its encoder maps (``maps.face`` (1, 128, T,
    14, 14)): an SE variant's name or any ``MapSettings``, or a baseline (``no-se``, ``centre``). Not scaled
    to [0, 1]."""
    fmap = maps.face
    frames = fmap.shape[2]
    if variant == "centre":
        axis = torch.arange(size) - (size - 1) / 2
        return (-(axis[:, None] ** 2 + axis[None, :] ** 2)).expand(frames, size, size)
    if variant == "no-se":
        return resize_maps(fmap.mean(1)[0].float(), (size, size), "bicubic")
    settings = SE_VARIANTS[variant] if isinstance(variant, str) else variant
    gate = model.se_blocks()["face"].gate(fmap)  # (1, 128, T)
    block = BlockMaps(fmap * gate[..., None, None], gate, torch.zeros(1, frames), [frames], 2)
    small = reference_maps(settings.reference, block, settings)  # (1, T, 14, 14)
    return resize_maps(small[0], (size, size), settings.interpolation)


@torch.no_grad()
def track_face_heatmaps(model, faces_uint8: np.ndarray, mfcc: np.ndarray,
                        settings: MapSettings = PRETRAINED_FACE_MAPS) -> tuple[np.ndarray, np.ndarray]:
    """A prepared track -> (heatmaps (T, 112, 112) float32 in [0, 1] per frame, speaking logits (T,)).

    faces_uint8 (T, 112, 112) grey crops (the authors' preparation), mfcc (4T, 13); one whole-track forward
    of the model with its SE blocks (e.g. ``load_distilled(path)``).
    """
    face = model.preprocessing.normalise_faces(torch.from_numpy(np.ascontiguousarray(faces_uint8)))[None]
    audio = torch.from_numpy(np.ascontiguousarray(mfcc))[None].float()
    maps = FeatureMaps(face_feature_map(model, face.to(model.device)), audio_feature_map(model, audio.to(model.device)))
    logits, _ = student_logits(model, maps)
    heat = unit_range(face_heatmaps(model, maps, settings, faces_uint8.shape[-1]), per_frame=True)
    return heat.cpu().numpy().astype(np.float32), logits[0, :, 1].cpu().numpy()
