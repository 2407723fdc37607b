"""Visual embeddings of many windows of one track from one pass over the track and short clips at the cuts.

The authors' multi-duration scoring (``pretrained_inputs.multi_duration``) runs the model on each window of
1..6 s on its own: six passes of the visual encoder over the track. The encoder of Light-ASD / LR-ASD is
per-frame in space and looks only ``r`` frames to each side in time (``VisualEncoder.temporal_radius_frames``:
each block's temporal convs, zero-padded at the clip's ends). So the embedding of frame ``t`` of window
``[a, b)`` equals the whole track's embedding when ``a + r <= t < b - r``; near a cut only the side of the
cut matters: frames ``[a, a + r)`` are those of the clip ``[a, a + 2r)`` and frames ``[b - r, b)`` those of
``[b - 2r, b)``. Cuts are shared by windows of all durations (multiples of 25 frames), so the six passes
become one pass + one batch of ``2r``-frame clips, two per inner cut; windows shorter than ``2r`` frames are
run on their own. The result equals ``model.forward_face(faces[:, a:b])`` per window (float rounding;
tested on both architectures, which also checks the radius).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch


def temporal_radius(model: Any) -> int | None:
    """Frames of context on each side that change a visual embedding, or None when the model does not say."""
    encoder = getattr(model, "visual_encoder", None)
    return getattr(encoder, "temporal_radius_frames", None)


@torch.no_grad()
def windowed_face_embeddings(model: Any, faces: torch.Tensor, windows: Sequence[tuple[int, int]]
                             ) -> dict[tuple[int, int], torch.Tensor]:
    """``faces (1, n, H, W)`` normalised, ``windows`` ``[(a, b)]`` inside ``[0, n)`` -> {(a, b): (b - a, D)}
    equal to ``model.forward_face(faces[:, a:b])[0]`` (module docstring); a model without a declared radius
    runs every window on its own."""
    n = faces.shape[1]
    radius = temporal_radius(model)
    windows = sorted(set(windows))
    if radius is None:
        return {(a, b): model.forward_face(faces[:, a:b])[0] for a, b in windows}
    full = model.forward_face(faces)[0]
    span = 2 * radius
    joined = [(a, b) for a, b in windows if b - a >= span]
    starts = sorted({a for a, _ in joined if a > 0})
    stops = sorted({b for _, b in joined if b < n})
    clips = [faces[0, a:a + span] for a in starts] + [faces[0, b - span:b] for b in stops]
    edges = model.forward_face(torch.stack(clips)) if clips and radius else None  # (K, 2r, D)
    head = {a: edges[i, :radius] for i, a in enumerate(starts)} if edges is not None else {}
    tail = {b: edges[len(starts) + i, radius:] for i, b in enumerate(stops)} if edges is not None else {}
    out = {}
    for a, b in windows:
        if b - a < span:
            out[(a, b)] = model.forward_face(faces[:, a:b])[0]
            continue
        first = head.get(a, full[a:a + radius])
        last = tail.get(b, full[b - radius:b])
        out[(a, b)] = torch.cat([first, full[a + radius:b - radius], last])
    return out
