"""How much the decision needs each modality: val AP with that modality's input blanked (occlusion).

A blank is what modality dropout trains with and what ``explain --blank`` feeds: face / body crops at the
normalisation mean (0 after normalisation), audio features at 0. The store is read once; every batch is
scored clean and once per blanked modality with the same model, so the drops compare like with like.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm import tqdm

from ..data.store import TrackStore
from ..models.asd_model import ASDModel
from ..train.batches import Batch, eval_positions
from ..train.store_batches import StoreTrackSource
from ..train.validation import FrameScores, score_batches


def _blanked(batch: Batch, modality: str | None) -> Batch:
    if modality is None:
        return batch
    out = dict(batch)
    out[modality] = torch.zeros_like(batch[modality])
    return out


def occlusion_ap(model: ASDModel, store: TrackStore | str | Path, *, chunk_frames: int = 256,
                 batch_frames: int = 1024, progress: bool = True) -> dict[str, Any]:
    """{"val_ap": clean AP, "blanked_ap": {m: AP}, "ap_drop": {m: clean - blanked}, "frames": N}.

    AP is the official AVA metric over the store's labelled frames (``FrameScores.average_precision``)."""
    store = store if isinstance(store, TrackStore) else TrackStore(store)
    model.eval()
    source = StoreTrackSource(store, model.config, chunk_frames=chunk_frames, batch_frames=batch_frames)
    positions = eval_positions(source.num_batches(), 0, 1)
    variants: list[str | None] = [None, *model.modalities]
    parts: dict[str | None, list[FrameScores]] = {v: [] for v in variants}

    def one(batch: Batch, variant: str | None) -> Iterator[Batch]:
        yield _blanked(batch, variant)

    for batch in tqdm(source.batches(0, positions), total=len(positions), desc="occlusion",
                      disable=not progress, dynamic_ncols=True):
        for variant in variants:
            parts[variant].append(score_batches(model, one(batch, variant)))
    scores = {v: FrameScores.concat(p) for v, p in parts.items()}
    clean = scores[None].average_precision
    blanked = {m: scores[m].average_precision for m in model.modalities}
    return {"val_ap": clean, "blanked_ap": blanked, "ap_drop": {m: clean - ap for m, ap in blanked.items()},
            "frames": int(len(scores[None].score))}
