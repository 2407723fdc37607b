"""Explain tracks of a track store with a checkpoint: PNG + JSON (+ maps) per track (``explain-track``)."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from ..constants import MODALITIES
from ..data.store import TrackStore
from ..models.asd_model import ASDModel
from .av import explain_track_arrays
from .av_render import save_track_explanation
from .map_settings import MapSettings


def check_entities(store: TrackStore, entity_ids: Sequence[str]) -> None:
    """One-line error for the first id the store does not hold, with the closest ids it does."""
    for entity_id in entity_ids:
        if entity_id not in store:
            close = difflib.get_close_matches(entity_id, store.entity_ids, n=3, cutoff=0.5)
            first = ", ".join(store.entity_ids[:3])
            hint = f"; did you mean {', '.join(close)}?" if close else f" (first ids: {first})"
            raise ValueError(f"{store.path}: no track {entity_id!r} among {len(store)} tracks{hint}")


def explain_store_tracks(model: ASDModel, store: TrackStore, entity_ids: Sequence[str], out_dir: str | Path, *,
                         chunk_frames: int = 256, n_strip: int = 8, maps: bool = True,
                         settings: MapSettings | None = None, blank: Sequence[str] = (), progress: bool = True,
                         extra: dict[str, Any] | None = None) -> list[dict[str, Path]]:
    """Explain whole tracks (chunks of ``chunk_frames``) and write ``av_render.save_track_explanation``
    files for each into ``out_dir``; returns their paths, in ``entity_ids`` order."""
    check_entities(store, entity_ids)
    settings = settings or MapSettings()
    names = tuple(m for m in MODALITIES if m in model.modalities)
    written = []
    for entity_id in tqdm(entity_ids, desc="explain tracks", unit="track", disable=not progress):
        track = store.read(entity_id, modalities=names)
        explanation = explain_track_arrays(
            model, settings, chunk_frames=chunk_frames, blank=blank, face=track.face, body=track.body,
            audio=track.audio, face_boxes=track.face_boxes, body_boxes=track.body_boxes, frame_size=track.frame_size,
            timestamps_s=track.timestamps_s, fps=track.fps, entity_id=entity_id,
            labels=(track.labels == 1).astype(np.int64))  # type: ignore[arg-type]
        info = {"video_id": track.video_id, "category": track.category, "store": str(store.path),
                "fps": track.fps, "blanked": list(blank), **settings.to_dict(), **(extra or {})}
        written.append(save_track_explanation(explanation, out_dir, face=track.face, body=track.body, maps=maps,
                                              n_strip=n_strip, extra=info))
    return written
