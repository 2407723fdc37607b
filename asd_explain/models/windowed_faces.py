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
def windowed_face_embeddings(model: Any, faces: torch.Tensor, windows: Sequence[tuple[int, int]],
                             full: torch.Tensor | None = None, segments: Sequence[tuple[int, int]] | None = None
                             ) -> dict[tuple[int, int], torch.Tensor]:
    """``faces (1, L, H, W)`` normalised, ``windows`` ``[(a, b)]`` inside ``[0, L)`` -> {(a, b): (b - a, D)}
    equal to ``model.forward_face(faces[:, a:b])[0]`` (module docstring).

    ``full`` (L, D): the model's embeddings of ``faces`` already computed, each of ``segments`` ``[(s0, s1)]``
    (default: the whole track) encoded on its own (a long track explained in chunks); without it the track is
    encoded here. A window inside one segment takes that segment's ends as its own where they coincide; a
    window across segments, one shorter than ``2r`` frames, or a model without a declared radius is encoded
    on its own."""
    radius = temporal_radius(model)
    windows = sorted(set(windows))
    if radius is None:
        return {(a, b): model.forward_face(faces[:, a:b])[0] for a, b in windows}
    if full is None:
        full, segments = model.forward_face(faces)[0], None
    segments = list(segments or [(0, faces.shape[1])])
    span = 2 * radius
    inside = {w: next((s for s in segments if s[0] <= w[0] and w[1] <= s[1]), None) for w in windows}
    joined = {w: s for w, s in inside.items() if s is not None and w[1] - w[0] >= span}
    starts = sorted({a for (a, _), (s0, _) in joined.items() if a != s0})
    stops = sorted({b for (_, b), (_, s1) in joined.items() if b != s1})
    clips = [faces[0, a:a + span] for a in starts] + [faces[0, b - span:b] for b in stops]
    edges = model.forward_face(torch.stack(clips)) if clips and radius else None  # (K, 2r, D)
    head = {a: edges[i, :radius] for i, a in enumerate(starts)} if edges is not None else {}
    tail = {b: edges[len(starts) + i, radius:] for i, b in enumerate(stops)} if edges is not None else {}
    out = {}
    for a, b in windows:
        if (a, b) not in joined:
            out[(a, b)] = model.forward_face(faces[:, a:b])[0]
            continue
        first = head.get(a, full[a:a + radius])
        last = tail.get(b, full[b - radius:b])
        out[(a, b)] = torch.cat([first, full[a + radius:b - radius], last])
    return out
