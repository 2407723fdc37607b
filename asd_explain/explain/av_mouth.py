"""Mouth pointing of face maps on real faces, for ``compare``: does each speaking frame's map peak on the mouth?

A store made by ``pretrained_inputs.labelled_store`` keeps each track's mouth region (the dlib-68 lip
landmarks' box grown by half its height on every side, in the 112 px crop's coordinates) beside the track.
For every clip, over its labelled speaking frames that have landmarks, ``score_mouth`` counts the frames
whose face-map maximum lies in
  - the mouth region (``mouth``),
  - the lip landmarks' own box (``lips``; the region shrunk back, ``distill.real_check.lip_boxes``),
and the same two for a map that always peaks at the crop's centre (``centre_*``): the authors' crop is
centred near the mouth, so the centre alone scores high on the grown region; read the maps against it.
Labelled speaking frames, not frames the model scores as speaking: the frames are then the same for every
model and every method (the rule of ``distill.real_check``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data.store import TrackStore
from ..distill.real_check import lip_boxes
from ..metrics.mouth import mouth_pointing
from ..pretrained_inputs.labelled_store import read_mouth

KINDS = ("mouth", "lips")


class MouthSource:
    """Mouth regions of store clips (``read_mouth``); ``available`` is False when no track has them."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.available = any(read_mouth(store, e, 0, 1) is not None for e in store.entity_ids)

    def for_clips(self, keys: list[tuple[int, int, int]]) -> list[np.ndarray | None]:
        """(n, 4) regions per clip key (track, start, n), or None for a track without them."""
        return [read_mouth(self.store, self.store.entity_ids[t], s, s + n) for t, s, n in keys]


def centre_maps(frames: int, height: int, width: int) -> torch.Tensor:
    """(frames, H, W) maps whose maximum is at the crop's centre (``distill.maps`` "centre" baseline)."""
    rows = torch.arange(height) - (height - 1) / 2
    cols = torch.arange(width) - (width - 1) / 2
    return (-(rows[:, None] ** 2 + cols[None, :] ** 2)).expand(frames, height, width)


def score_mouth(rows: list[dict[str, Any]], face_maps: torch.Tensor, batch: dict[str, Any],
                regions: list[np.ndarray | None], crop_px: int = 112) -> None:
    """Add ``mouth_frames`` and ``face_{mouth,lips}_hits`` / ``centre_{mouth,lips}_hits`` to each clip's row.

    face_maps (B, T, H, W) over the crop; regions per item (n, 4) crop coordinates or None."""
    labels = (batch["labels"].cpu() == 1) & batch["label_mask"].cpu().bool()
    for i, (row, region) in enumerate(zip(rows, regions, strict=True)):
        if region is None:
            continue
        n = len(region)
        targets = {"mouth": region, "lips": lip_boxes(region)}
        maps = face_maps[i, :n].float().cpu()
        centre = centre_maps(n, *maps.shape[-2:])
        speaking = labels[i, :n].numpy()
        valid = np.isfinite(region).all(1) & speaking
        row["mouth_frames"] = int(valid.sum())
        for kind, boxes in targets.items():
            row[f"face_{kind}_hits"] = int(mouth_pointing(maps, boxes, crop_px)[0][valid].sum())
            row[f"centre_{kind}_hits"] = int(mouth_pointing(centre, boxes, crop_px)[0][valid].sum())


def summarise_mouth(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """{mouth_frames, mouth_pct, lips_pct, centre_mouth_pct, centre_lips_pct} over rows that were scored."""
    scored = [r for r in rows if "mouth_frames" in r]
    if not scored:
        return {}
    frames = sum(r["mouth_frames"] for r in scored)
    out: dict[str, Any] = {"mouth_frames": frames}
    for who in ("face", "centre"):
        for kind in KINDS:
            hits = sum(r[f"{who}_{kind}_hits"] for r in scored)
            key = f"{kind}_pct" if who == "face" else f"centre_{kind}_pct"
            out[key] = 100 * hits / frames if frames else None
    return out
