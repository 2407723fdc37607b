"""Frame-level scores of a model over batches, and the AVA average precision of them."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import torch

from ..metrics.ava_ap import average_precision
from ..models.asd_model import ASDModel, model_inputs
from ..models.heads import speaking_probability
from .batches import Batch
from .losses import masked_cross_entropy


@dataclass
class FrameScores:
    """Scores of labelled frames, in batch order: score (N,) float64, label (N,) int64, plus identity."""

    score: np.ndarray
    label: np.ndarray
    entity_id: list[str] = field(default_factory=list)
    timestamp_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    video_id: list[str] = field(default_factory=list)
    loss_sum: float = 0.0

    @staticmethod
    def concat(parts: Iterable["FrameScores"]) -> "FrameScores":
        parts = list(parts)
        if not parts:
            return FrameScores(np.zeros(0), np.zeros(0, dtype=np.int64))
        return FrameScores(
            np.concatenate([p.score for p in parts]), np.concatenate([p.label for p in parts]),
            [e for p in parts for e in p.entity_id], np.concatenate([p.timestamp_s for p in parts]),
            [v for p in parts for v in p.video_id], sum(p.loss_sum for p in parts),
        )

    @property
    def average_precision(self) -> float:
        """Official AVA AP (positives = label 1); NaN without any positive frame."""
        if not (self.label == 1).any():
            return float("nan")
        return average_precision(self.score, self.label == 1)

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(1, len(self.score))


def autocast_context(device: torch.device, enabled: bool) -> torch.autocast | nullcontext:
    """bfloat16 (or float16) autocast on CUDA when ``enabled``; a no-op on CPU."""
    if not enabled or device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@torch.no_grad()
def score_batches(model: ASDModel, batches: Iterable[Batch], *, amp: bool = False,
                  keep_identity: bool = False) -> FrameScores:
    """Run ``model`` (eval mode) over ``batches``; keep labelled frames only (``label_mask``)."""
    was_training = model.training
    model.eval()
    parts = []
    try:
        for batch in batches:
            with autocast_context(model.device, amp):
                logits = model(**model_inputs(batch, model.modalities, model.device))["logits"]
            parts.append(labelled_frames(batch, logits, keep_identity))
    finally:
        model.train(was_training)
    return FrameScores.concat(parts)


def labelled_frames(batch: Batch, logits: torch.Tensor, keep_identity: bool = False) -> FrameScores:
    """The speaking scores and labels of the frames ``label_mask`` marks (with their ids if ``keep_identity``)."""
    labels = batch["labels"].to(logits.device)
    mask = batch.get("label_mask")
    mask = torch.ones_like(labels, dtype=torch.bool) if mask is None else mask.to(logits.device)
    loss = masked_cross_entropy(logits, labels, mask).item() * int(mask.sum())
    flat = mask.cpu().numpy()
    scores = speaking_probability(logits).cpu().numpy().astype(np.float64)[flat]
    result = FrameScores(scores, labels.cpu().numpy()[flat], loss_sum=loss)
    if keep_identity:
        rows, _ = np.nonzero(flat)
        result.entity_id = [batch["entity_ids"][r] for r in rows]
        result.video_id = [batch["video_ids"][r] for r in rows]
        result.timestamp_s = np.asarray(batch["timestamps_s"], dtype=np.float64)[flat]
    return result
