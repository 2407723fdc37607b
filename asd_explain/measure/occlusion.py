"""How much the decision needs each modality: val AP with that modality's input blanked (occlusion).

A blank is what modality dropout trains with and what ``explain --blank`` feeds: face / body crops at the
normalisation mean (0 after normalisation), audio features at 0. The store is read once; every batch is
scored clean and once per blanked modality with the same model, so the drops compare like with like.

The per-modality encoders run once per batch: a blanked modality's embedding is the same for every item (eval
mode, items independent), so it is computed for one item and broadcast, and only fusion, temporal model
and head run again per blanked modality (``explain.importance``): the same logits as a full forward of the
blanked batch (``tests/test_measure_occlusion.py``), at about a third of its cost.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..data.preprocessing import model_preprocessing
from ..data.store import TrackStore
from ..explain.importance import staged_logits
from ..models.asd_model import ASDModel, model_inputs
from ..train.batches import Batch, eval_positions
from ..train.store_batches import StoreTrackSource
from ..train.validation import FrameScores, labelled_frames


@torch.no_grad()
def blanked_scores(model: ASDModel, batch: Batch) -> dict[str | None, FrameScores]:
    """{None: clean, modality: that modality blanked} labelled-frame scores of one batch (model in eval mode)."""
    inputs = model_inputs(batch, model.modalities, model.device)
    clean = {m: getattr(model, f"forward_{m}")(inputs[m]) for m in model.modalities}
    out = {None: labelled_frames(batch, staged_logits(model, clean))}
    for m in model.modalities:
        # zeros, as modality dropout trains with (not ``model.blank_input``'s silence features for audio)
        blank = getattr(model, f"forward_{m}")(torch.zeros_like(inputs[m][:1])).expand_as(clean[m])
        out[m] = labelled_frames(batch, staged_logits(model, {**clean, m: blank}))
    return out


def occlusion_ap(model: ASDModel, store: TrackStore | str | Path, *, chunk_frames: int = 256,
                 batch_frames: int = 1024, progress: bool = True) -> dict[str, Any]:
    """{"val_ap": clean AP, "blanked_ap": {m: AP}, "ap_drop": {m: clean - blanked}, "frames": N}.

    AP is the official AVA metric over the store's labelled frames (``FrameScores.average_precision``)."""
    store = store if isinstance(store, TrackStore) else TrackStore(store)
    model.eval()
    source = StoreTrackSource(store, model.config, chunk_frames=chunk_frames, batch_frames=batch_frames,
                              preprocessing=model_preprocessing(model))  # the checkpoint's inputs (body_hide_face)
    positions = eval_positions(source.num_batches(), 0, 1)
    variants: list[str | None] = [None, *model.modalities]
    parts: dict[str | None, list[FrameScores]] = {v: [] for v in variants}
    for batch in tqdm(source.batches(0, positions), total=len(positions), desc="occlusion",
                      disable=not progress, dynamic_ncols=True):
        for variant, scores in blanked_scores(model, batch).items():
            parts[variant].append(scores)
    scores = {v: FrameScores.concat(p) for v, p in parts.items()}
    clean = scores[None].average_precision
    blanked = {m: scores[m].average_precision for m in model.modalities}
    return {"val_ap": clean, "blanked_ap": blanked, "ap_drop": {m: clean - ap for m, ap in blanked.items()},
            "frames": int(len(scores[None].score))}
