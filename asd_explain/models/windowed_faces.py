"""Visual embeddings of many windows of one track from one pass over the track and a little work at the cuts.

The authors' multi-duration scoring (``pretrained_inputs.multi_duration``) runs the model on each window of
1..6 s on its own: six passes of the visual encoder over the track. The encoder of Light-ASD / LR-ASD
(``VisualEncoder``: stage 1 = block1 + pool1, stage 2 = block2 + pool2, stage 3 = block3, then the per-frame
SE and spatial pooling) is per-frame in space and looks ``rho`` frames to each side in time in each block
(its temporal convs, zero-padded at the clip's ends): stage ``l``'s output at frame ``t`` of window ``[a, b)``
equals the whole track's unless ``t`` lies within ``R_l`` (the radii summed up to ``l``) of a cut ``a`` or
``b`` that is not an end of the track. So a window's embeddings are the track's except ``R_3 = r`` frames at
each inner cut, and those are recomputed stage by stage: stage ``l`` runs on the ``R_l + rho_l`` frames next
to the cut, the first ``R_(l-1)`` of them recomputed by stage ``l - 1``, the rest the track's own stage
``l - 1`` outputs, and keeps its first ``R_l`` (a clip's far end spoils only ``rho_l`` frames). Cuts are
shared by the windows of all durations (multiples of 25 frames), so six passes become one pass and one
small batch per stage (Light-ASD: 4, 6 and 8 frames per side of each inner cut). Windows shorter than
``2 (r + rho)`` frames, and models without the staged encoder, are encoded on their own. The result equals
``model.forward_face(faces[:, a:b])[0]`` per window (float rounding; tested on both architectures, which also
checks the declared radii).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .pretrained_model import face_video


@dataclass
class EncoderPass:
    """One pass of ``model``'s visual encoder over a track of L frames: ``stages`` the outputs of stage 1 and
    stage 2, (1, C, L, h, w) each; ``maps`` the block3 map (1, C, L, h, w) (before any SE)."""

    stages: list[torch.Tensor]
    maps: torch.Tensor


def temporal_radius(model: Any) -> int | None:
    """Frames of context on each side that change a visual embedding, or None when the model does not say."""
    encoder = getattr(model, "visual_encoder", None)
    return getattr(encoder, "temporal_radius_frames", None)


def _staged(model: Any) -> bool:
    return temporal_radius(model) is not None and hasattr(model, "face_embedding")


def _stage(model: Any, index: int, x: torch.Tensor) -> torch.Tensor:
    encoder = model.visual_encoder
    if index == 0:
        return encoder.pool1(encoder.block1(x))
    if index == 1:
        return encoder.pool2(encoder.block2(x))
    return encoder.block3(x)


@torch.no_grad()
def encoder_pass(model: Any, faces: torch.Tensor) -> EncoderPass:
    """``faces (1, L, H, W)`` normalised -> the stage outputs of one pass (``EncoderPass``)."""
    first = _stage(model, 0, face_video(faces))
    second = _stage(model, 1, first)
    return EncoderPass([first, second], _stage(model, 2, second))


@torch.no_grad()
def windowed_face_embeddings(model: Any, faces: torch.Tensor, windows: Sequence[tuple[int, int]],
                             encoded: EncoderPass | None = None) -> dict[tuple[int, int], torch.Tensor]:
    """``faces (1, L, H, W)`` normalised, ``windows`` ``[(a, b)]`` inside ``[0, L)`` -> {(a, b): (b - a, D)}
    equal to ``model.forward_face(faces[:, a:b])[0]`` (module docstring). ``encoded``: the encoder's pass over
    ``faces`` already made (e.g. by the explanation's forward of a model with the same visual encoder)."""
    windows = sorted(set(windows))
    if not _staged(model):
        return {(a, b): model.forward_face(faces[:, a:b])[0] for a, b in windows}
    encoded = encoded or encoder_pass(model, faces)
    length = faces.shape[1]
    radii = [getattr(model.visual_encoder, f"block{i}").temporal_radius for i in (1, 2, 3)]
    reach = [sum(radii[:i + 1]) for i in range(3)]  # R_1, R_2, R_3 = r
    r = reach[-1]
    joined = [(a, b) for a, b in windows if b - a >= 2 * (r + max(radii))]
    starts = sorted({a for a, _ in joined if a > 0})
    stops = sorted({b for _, b in joined if b < length})
    full = model.face_embedding(encoded.maps)[0]
    head, tail = _cut_embeddings(model, faces, encoded, starts, stops, radii, reach) if r else ({}, {})
    out = {}
    for a, b in windows:
        if (a, b) not in joined and r:
            out[(a, b)] = model.forward_face(faces[:, a:b])[0]
            continue
        first = head.get(a, full[a:a + r])
        last = tail.get(b, full[b - r:b])
        out[(a, b)] = torch.cat([first, full[a + r:b - r], last])
    return out


def _cut_embeddings(model: Any, faces: torch.Tensor, encoded: EncoderPass, starts: list[int], stops: list[int],
                    radii: list[int], reach: list[int]) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
    """Embeddings (r, D) of the first r frames of windows starting at each of ``starts`` and of the last r
    frames of windows ending at each of ``stops``, recomputed stage by stage (module docstring)."""
    if not starts and not stops:
        return {}, {}
    inputs = [face_video(faces), *encoded.stages]  # what stage 0, 1, 2 reads over the whole track
    left: list[torch.Tensor] = []
    right: list[torch.Tensor] = []
    for index, (rho, span) in enumerate(zip(radii, reach)):
        before = reach[index - 1] if index else 0  # frames recomputed by the previous stage
        whole = inputs[index]
        pieces = [torch.cat([*left[i:i + 1], whole[:, :, a + before:a + span + rho]], dim=2)
                  for i, a in enumerate(starts)]
        pieces += [torch.cat([whole[:, :, b - span - rho:b - before], *right[i:i + 1]], dim=2)
                   for i, b in enumerate(stops)]
        out = _stage(model, index, torch.cat(pieces))
        left = [out[i:i + 1, :, :span] for i in range(len(starts))]
        right = [out[len(starts) + i:len(starts) + i + 1, :, -span:] for i in range(len(stops))]
    embedded = model.face_embedding(torch.cat(left + right))  # (K, r, D)
    return ({a: embedded[i] for i, a in enumerate(starts)},
            {b: embedded[len(starts) + i] for i, b in enumerate(stops)})
