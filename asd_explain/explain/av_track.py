"""Per-track numpy explanations: the edge where a batched ``Explanation`` becomes files and pictures.

``track_explanations(explanation, batch)`` cuts an audio-visual ``Explanation`` (any explainer of
``av_explainers``) into one ``TrackExplanation`` per batch item, padding removed with ``label_mask``:

  scores            (T,)          probability of SPEAKING_AUDIBLE per frame
  face_maps         (T, Hf, Wf)   face heatmap per frame at crop resolution, in [0, 1]
  body_maps         (T, Hb, Wb)   body heatmap per frame at crop resolution, in [0, 1]
  audio_attention   (F, 4T)       attention over the feature spectrogram (frequency x audio frames), [0, 1]
  audio_features    (F, 4T)       the features themselves (log-mel or MFCC), for drawing
  modality_shares   {audio, face, body: (T,)}  shares of the fusion SE mass per frame (sum to 1)
  importance        {se_mass, kept_channels, occlusion: {modality: (T,)}} (``importance.py``)
  track_shares / track_importance   their means over the track's frames
  kept              per SE block: channels, channels kept (per frame or per clip), threshold

``join_explanations`` puts consecutive chunks of one track back together. Rendering (``av_render``,
``pipeline.track_sheet``) and JSON read this type; the explainers, compare and metrics work on
``Explanation``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from ..models.heads import speaking_probability
from .av_se import item_lengths, unit_range
from .base import Explanation
from .importance import track_importance


@dataclass
class BlockStats:
    """What the channel selection of one SE block kept.

    channels: C; kept: channels kept, (T,) per frame or one value per clip; threshold: same shape as
    ``kept`` (mean + z * std of the excitation, or the top-k cut); top_channels: the most excited channels
    of the clip (by mean excitation over frames), highest first (at most 8).
    """

    channels: int
    kept: np.ndarray
    threshold: np.ndarray
    top_channels: list[int]

    @property
    def kept_fraction(self) -> float:
        return float(np.mean(self.kept) / self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "kept_mean": float(np.mean(self.kept)),
                "kept_fraction": self.kept_fraction, "kept": np.atleast_1d(self.kept).tolist(),
                "threshold": np.round(np.atleast_1d(self.threshold), 5).tolist(), "top_channels": self.top_channels}


@dataclass
class TrackExplanation:
    """The explanation of one track (or clip) of T frames; see the module docstring for the fields."""

    scores: np.ndarray
    face_maps: np.ndarray | None = None
    body_maps: np.ndarray | None = None
    audio_attention: np.ndarray | None = None
    audio_features: np.ndarray | None = None
    modality_shares: dict[str, np.ndarray] = field(default_factory=dict)
    kept: dict[str, BlockStats] = field(default_factory=dict)
    entity_id: str | None = None
    timestamps_s: np.ndarray | None = None
    labels: np.ndarray | None = None
    audio_attention_range: tuple[float, float] | None = None  # raw (min, max) before scaling to [0, 1]
    importance: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.scores)

    @property
    def track_shares(self) -> dict[str, float]:
        """Each modality's share of the fusion SE mass, averaged over the track's frames."""
        return {m: float(np.mean(v)) for m, v in self.modality_shares.items()}

    @property
    def track_importance(self) -> dict[str, dict[str, float]]:
        """Every importance measure per modality, averaged over the track's frames."""
        return track_importance(self.importance)

    def summary(self) -> dict[str, Any]:
        """JSON-able per-frame scores, shares and importance, their track means and channel statistics."""
        out: dict[str, Any] = {
            "entity_id": self.entity_id, "n_frames": self.n_frames,
            "scores": np.round(self.scores, 5).tolist(),
            "mean_score": float(np.mean(self.scores)) if self.n_frames else None,
            "modality_shares": {m: np.round(v, 5).tolist() for m, v in self.modality_shares.items()},
            "track_shares": self.track_shares,
            "importance": {k: {m: np.round(v, 5).tolist() for m, v in vs.items()} for k, vs in self.importance.items()},
            "track_importance": self.track_importance,
            "se_channels": {name: stats.to_dict() for name, stats in self.kept.items()},
            "maps": {"face": _shape(self.face_maps), "body": _shape(self.body_maps),
                     "audio_attention": _shape(self.audio_attention)},
        }
        if self.timestamps_s is not None:
            out["timestamps_s"] = np.asarray(self.timestamps_s, dtype=np.float64).tolist()
        if self.labels is not None:
            out["labels"] = np.asarray(self.labels).astype(int).tolist()
        return out


def _shape(x: np.ndarray | None) -> list[int] | None:
    return None if x is None else list(x.shape)


def track_explanations(explanation: Explanation, batch: Mapping[str, Any]) -> list[TrackExplanation]:
    """One ``TrackExplanation`` per item of ``batch`` from an audio-visual ``Explanation`` (module docstring)."""
    extras = explanation.extras
    scores = extras.get("scores")
    scores = (speaking_probability(explanation.logits) if scores is None else scores).float().cpu()
    lengths = extras.get("lengths") or item_lengths(batch, scores)
    return [_item(b, n, explanation, batch, scores) for b, n in enumerate(lengths)]


def _item(b: int, n: int, explanation: Explanation, batch: Mapping[str, Any], scores: torch.Tensor
          ) -> TrackExplanation:
    """Item ``b`` cut to its ``n`` frames."""
    maps, extras = explanation.maps, explanation.extras
    out = TrackExplanation(scores=scores[b, :n].numpy().astype(np.float32))
    for name in ("face", "body"):
        if name in maps:
            setattr(out, f"{name}_maps", maps[name][b, :n].float().cpu().numpy())
    if "audio" in maps:
        steps = maps["audio"].shape[1] // max(scores.shape[1], 1)
        attention = maps["audio"][b, :steps * n].float().cpu()
        out.audio_attention = np.ascontiguousarray(attention.numpy().T)
        raw = extras.get("audio_range")
        out.audio_attention_range = ((float(raw[b, 0]), float(raw[b, 1])) if raw is not None
                                     else (float(attention.min()), float(attention.max())))
        out.audio_features = batch["audio"][b, :steps * n].detach().float().cpu().numpy().T.copy()
    for kind, values in explanation.importance.items():
        out.importance[kind] = {m: v[b, :n].float().cpu().numpy() for m, v in values.items()}
    out.modality_shares = dict(out.importance.get("se_mass", {}))
    for name, (excitation, kept, threshold) in extras.get("se", {}).items():
        out.kept[name] = _block_stats(excitation[b], kept[b], threshold[b], n)
    if batch.get("entity_ids") is not None:
        out.entity_id = str(batch["entity_ids"][b])
    if batch.get("timestamps_s") is not None:
        out.timestamps_s = np.asarray(batch["timestamps_s"][b][:n], dtype=np.float64)
    if batch.get("labels") is not None:
        out.labels = np.asarray(batch["labels"][b][:n])
    return out


def _block_stats(excitation: torch.Tensor, kept: torch.Tensor, threshold: torch.Tensor, n: int) -> BlockStats:
    """excitation/kept (C,) or (C, T'), threshold () or (T',); per-frame blocks are cut to n frames."""
    per_frame = excitation.dim() == 2
    if per_frame:
        excitation, kept, threshold = excitation[:, :n], kept[:, :n], threshold[:n]
    mean_s = excitation.float().mean(dim=1) if per_frame else excitation.float()
    top = torch.argsort(mean_s, descending=True, stable=True)[:8].tolist()
    return BlockStats(channels=int(excitation.shape[0]), kept=kept.sum(dim=0).cpu().numpy(),
                      threshold=threshold.float().cpu().numpy(), top_channels=[int(c) for c in top])


def join_explanations(pieces: list[TrackExplanation]) -> TrackExplanation:
    """Consecutive pieces of one track as one explanation (audio attention re-scaled to [0, 1])."""
    if len(pieces) == 1:
        return pieces[0]

    def cat(name: str, axis: int = 0) -> np.ndarray | None:
        values = [getattr(p, name) for p in pieces]
        return None if values[0] is None else np.concatenate(values, axis=axis)

    attention, attention_range = None, None
    if pieces[0].audio_attention is not None:  # each piece was scaled on its own: back to raw, then rescale
        raw = np.concatenate([p.audio_attention * (p.audio_attention_range[1] - p.audio_attention_range[0])
                              + p.audio_attention_range[0] for p in pieces], axis=1)
        attention_range = (float(raw.min()), float(raw.max()))
        attention = unit_range(torch.from_numpy(raw), per_frame=False).numpy().astype(np.float32)
    importance = {k: {m: np.concatenate([p.importance[k][m] for p in pieces]) for m in v}
                  for k, v in pieces[0].importance.items()}
    return TrackExplanation(
        scores=cat("scores"), face_maps=cat("face_maps"), body_maps=cat("body_maps"),
        audio_attention=attention, audio_features=cat("audio_features", axis=1),
        modality_shares={m: np.concatenate([p.modality_shares[m] for p in pieces]) for m in pieces[0].modality_shares},
        kept={name: _join_stats([p.kept[name] for p in pieces]) for name in pieces[0].kept},
        entity_id=pieces[0].entity_id, timestamps_s=cat("timestamps_s"), labels=cat("labels"),
        audio_attention_range=attention_range, importance=importance,
    )


def _join_stats(parts: list[BlockStats]) -> BlockStats:
    return BlockStats(channels=parts[0].channels, kept=np.concatenate([np.atleast_1d(p.kept) for p in parts]),
                      threshold=np.concatenate([np.atleast_1d(p.threshold) for p in parts]),
                      top_channels=parts[0].top_channels)
