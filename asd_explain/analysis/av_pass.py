"""One pass of the audio-visual model over a track store, keeping what the analyses need, per frame.

``run_av_pass(model, store, cfg, corpus)`` explains every chosen track in chunks of ``cfg.chunk_frames``
frames (one ``ASDModel.explain_forward`` per chunk; chunks as ``asd-explain evaluate`` cuts them, inputs
made by ``explain.av.track_batch`` as the store loader makes them) and returns:

  frames      a DataFrame, one row per frame: the AVA columns (video_id, frame_timestamp, face box,
              label, entity_id), category, label_id, score, the fusion SE's modality shares
              ``share_<m>`` (share of the gate mass) and ``kept_share_<m>`` (share of the channels kept by
              the threshold), ``face_energy`` / ``body_energy`` (mean of the raw SE heatmap: the average of
              the kept SE-scaled channels, before upsampling and min-max scaling, clipped at 0), and with
              the corpus's evidence ``mouth_hit`` / ``gesture_hit`` (the map's maximum in the mouth /
              gesture box) and ``mouth_area`` (the box's share of the crop, the chance level of a hit);
  se_vectors  per SE block ("face", "body", "audio", "fusion"), the excitation vectors seen, (N, C):
              one per frame for per-frame blocks, one per chunk for per-clip blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..data.store import Track, TrackStore, audio_span_samples
from ..explain.av import track_batch
from ..explain.av_evidence import TrackEvidence, track_evidence
from ..explain.se_maps import DEFAULT_Z, se_heatmaps, select_channels
from ..metrics.pointing import pointing_game
from ..models.asd_model import ASDModel
from .config import AnalysisConfig

LABEL_NAMES = {0: "NOT_SPEAKING", 1: "SPEAKING_AUDIBLE", 2: "SPEAKING_NOT_AUDIBLE"}


@dataclass
class AVPass:
    """Per-frame table and SE vectors of one pass (module docstring)."""

    frames: pd.DataFrame
    se_vectors: dict[str, np.ndarray]
    entity_ids: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def choose_tracks(store: TrackStore, max_tracks: int) -> list[str]:
    """All tracks (``max_tracks`` 0), else ``max_tracks`` of them spread evenly over the store's order."""
    ids = store.entity_ids
    if not max_tracks or max_tracks >= len(ids):
        return list(ids)
    picks = np.unique(np.linspace(0, len(ids) - 1, max_tracks).round().astype(int))
    return [ids[i] for i in picks]


def load_evidence_for(corpus: str | Path, video_id: str) -> dict[str, Any]:
    """The corpus's evidence of one video (``evidence/<video_id>.npz``); a one-line error when missing."""
    from ..data.evidence import load_evidence

    path = Path(corpus) / "evidence" / f"{video_id}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no evidence for video {video_id} (make the corpus with asd-prep synth)")
    return load_evidence(path)


def chunk_batch(model: ASDModel, track: Track, start: int, stop: int) -> dict[str, Any]:
    """Frames ``start:stop`` of a store track as a one-item batch (``track_batch``), labels 1 = speaking."""
    audio = None
    if track.audio is not None:
        first, last = audio_span_samples(track.timestamps_s, track.fps, start, stop)
        audio = track.audio[first:last]
    return track_batch(model, face=None if track.face is None else track.face[start:stop],
                       body=None if track.body is None else track.body[start:stop], audio=audio,
                       timestamps_s=track.timestamps_s[start:stop], fps=track.fps, entity_id=track.entity_id,
                       labels=(track.labels[start:stop] == 1).astype(np.int64), device=model.device,
                       face_boxes=track.face_boxes[start:stop],
                       body_boxes=None if track.body_boxes is None else track.body_boxes[start:stop],
                       frame_size=track.frame_size)


def visual_energy(block: dict[str, torch.Tensor], z: float = DEFAULT_Z) -> torch.Tensor:
    """Mean of the raw SE heatmap per frame: block {"scaled" (B, C, T, h, w), "excitation"} -> (B, T)."""
    raw = se_heatmaps(block["scaled"], block["excitation"], None, z=z, normalize="none").maps  # (B, T, h, w)
    return raw.float().clamp_min(0).mean(dim=(-2, -1))


def fusion_kept_shares(excitation: torch.Tensor, modalities: tuple[str, ...], z: float = DEFAULT_Z
                       ) -> dict[str, torch.Tensor]:
    """Share of the fusion channels kept by the threshold that belong to each modality.

    excitation: (B, M*D, T) or (B, M*D), channels in ``modalities`` order -> {modality: (B, T) or (B,)}.
    """
    kept, _ = select_channels(excitation, z=z)
    parts = kept.float().unflatten(1, (len(modalities), -1)).sum(dim=2)  # (B, M[, T])
    parts = parts / parts.sum(dim=1, keepdim=True).clamp_min(1)
    return {m: parts[:, i] for i, m in enumerate(modalities)}


def _pointing(block: dict[str, torch.Tensor], masks: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    """Hits (T,) of the per-frame SE map (crop size, bicubic, as ``explain_av_batch``) in ``masks[start:stop]``."""
    if masks is None:
        return None
    size = masks.shape[1:]
    maps = se_heatmaps(block["scaled"], block["excitation"], size, normalize="frame").maps[0].float().cpu()
    return pointing_game(maps[None], torch.from_numpy(masks[start:stop])[None])[0].numpy().astype(np.float64)


def _chunk_columns(model: ASDModel, out: dict[str, Any], evidence: TrackEvidence | None, start: int, stop: int
                   ) -> dict[str, np.ndarray]:
    """Per-frame columns of one explained chunk (batch of one item)."""
    cols: dict[str, np.ndarray] = {"score": out["scores"][0].float().cpu().numpy().astype(np.float64)}
    n = len(cols["score"])
    for m, share in out.get("modality_shares", {}).items():
        cols[f"share_{m}"] = share[0].float().cpu().expand(n).numpy().astype(np.float64)
    se = out["se"]
    if "fusion" in se:
        for m, share in fusion_kept_shares(se["fusion"]["excitation"], model.fusion.modalities).items():
            cols[f"kept_share_{m}"] = share[0].float().cpu().expand(n).numpy().astype(np.float64)
    for name in ("face", "body"):
        if name in se:
            cols[f"{name}_energy"] = visual_energy(se[name])[0].cpu().numpy().astype(np.float64)
    if evidence is not None and "face" in se:
        cols["mouth_hit"] = _pointing(se["face"], evidence.mouth_masks, start, stop)
        cols["mouth_area"] = evidence.mouth_masks[start:stop].mean(axis=(1, 2)).astype(np.float64)
    if evidence is not None and "body" in se and evidence.gesture_masks is not None:
        cols["gesture_hit"] = _pointing(se["body"], evidence.gesture_masks, start, stop)
    return cols


def _collect_vectors(sink: dict[str, list[np.ndarray]], se: dict[str, dict[str, torch.Tensor]]) -> None:
    """Append each block's excitation vectors: (1, C, T) -> T vectors, (1, C) -> one."""
    for name, block in se.items():
        s = block["excitation"][0].float().cpu()
        sink.setdefault(name, []).append((s.T if s.dim() == 2 else s[None]).numpy())


def _track_frames(track: Track, category: str | None) -> dict[str, Any]:
    """The AVA columns of a track's rows."""
    boxes = np.asarray(track.face_boxes, dtype=np.float64)
    labels = np.asarray(track.labels).astype(int)
    return {"video_id": track.video_id, "frame_timestamp": track.timestamps_s.astype(np.float64),
            "entity_box_x1": boxes[:, 0], "entity_box_y1": boxes[:, 1], "entity_box_x2": boxes[:, 2],
            "entity_box_y2": boxes[:, 3], "label": [LABEL_NAMES.get(v, "NOT_SPEAKING") for v in labels],
            "entity_id": track.entity_id, "category": category or "", "label_id": labels}


@torch.no_grad()
def explain_store_track(model: ASDModel, track: Track, category: str | None, chunk_frames: int,
                        evidence: TrackEvidence | None, vectors: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    """The per-frame rows of one track (module docstring); its SE vectors are appended to ``vectors``."""
    pieces: list[dict[str, np.ndarray]] = []
    for start in range(0, track.n_frames, chunk_frames):
        stop = min(track.n_frames, start + chunk_frames)
        out = model.explain_forward(chunk_batch(model, track, start, stop))
        pieces.append(_chunk_columns(model, out, evidence, start, stop))
        _collect_vectors(vectors, out["se"])
    columns = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    return pd.DataFrame({**_track_frames(track, category), **columns})


def run_av_pass(model: ASDModel, store: TrackStore, cfg: AnalysisConfig, *, corpus: str | Path | None = None,
                progress: bool = True) -> AVPass:
    """Explain the chosen tracks of ``store`` (module docstring); SE vectors sampled to ``cfg.se_vectors``."""
    model = model.eval()
    ids = choose_tracks(store, cfg.max_tracks)
    vectors: dict[str, list[np.ndarray]] = {}
    parts, cached = [], (None, None)
    for entity_id in tqdm(ids, desc="explain tracks", unit="track", disable=not progress):
        track = store.read(entity_id)
        evidence = None
        if corpus is not None:
            if cached[0] != track.video_id:
                cached = (track.video_id, load_evidence_for(corpus, track.video_id))
            evidence = track_evidence(track, cached[1])
        category = store.entry(entity_id).get("category") or track.category
        parts.append(explain_store_track(model, track, category, cfg.chunk_frames, evidence, vectors))
    frames = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(cfg.seed)
    sampled = {name: sample_rows(np.concatenate(v), cfg.se_vectors, rng) for name, v in sorted(vectors.items())}
    info = {"store": str(store.path), "dataset": store.manifest.get("dataset"), "tracks": len(ids),
            "frames": len(frames), "corpus": None if corpus is None else str(corpus)}
    return AVPass(frames=frames, se_vectors=sampled, entity_ids=ids, info=info)


def sample_rows(vectors: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``count`` rows of ``vectors`` (N, C), drawn without replacement, kept in their order."""
    if len(vectors) <= count:
        return vectors
    return vectors[np.sort(rng.choice(len(vectors), size=count, replace=False))]
