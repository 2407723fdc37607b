"""The SE explainer of the audio-visual model: one no-grad staged forward, every modality's maps and the
modality importance, as an ``Explainer``.

``SEAVExplainer(model, settings).explain(batch)`` returns an ``Explanation`` with
  maps         {"face": (B, T, Hf, Wf), "body": (B, T, Hb, Wb)} in [0, 1] (per frame, or per item with
               ``settings.normalize == "track"``), "audio": (B, 4T, F) attention over the feature
               spectrogram, scaled to [0, 1] over each item; padding frames are 0;
  logits       (B, T, 2);
  importance   {"se_mass", "kept_channels"[, "occlusion"]: {modality: (B, T)}} (``importance.py``);
  extras       "scores" (B, T) speaking probability, "lengths" [n per item], "audio_range" (B, 2) the raw
               (min, max) of each item's audio attention before scaling, "se" {block: (excitation, kept,
               threshold)} for every SE block (the fusion block included).
Visual maps use each frame's own excitation when the model squeezes per frame; the audio map uses the clip's
(the audio SE squeezes per clip) and is upsampled from (F', T) to (F, 4T). SE outputs expected: visual
(B, C, T, h, w) with excitation (B, C, T) or (B, C); audio (B, C, F', T') with (B, C), or, squeezed per step
as video, (B, C, T', F', 1) with (B, C, T'). What a model lacks (a stream, a
fusion SE, any SE) is simply absent. The maps come from the registered reference of each modality
(``references.py``) under ``MapSettings``.

The SE outputs are read by ``se.capture.SECapture`` inside the forward and released after it; the explainer
keeps no state, so threads may share one explainer and one model.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F

from ..constants import VISUAL_MODALITIES as VISUAL
from ..models.asd_model import model_inputs
from ..models.heads import speaking_probability
from ..se.capture import SECapture
from .base import Explainer, Explanation, Target
from .importance import fusion_layout, kept_channel_share, occlusion_importance, se_mass_share, staged_logits
from .map_settings import MapSettings
from .references import BlockMaps, reference_maps
from .se_maps import Interpolation, select_channels


@dataclass
class SEForward:
    """One captured forward: inputs and embeddings per modality, logits (B, T, 2), scores (B, T), and the
    SE blocks' gates and outputs by block name."""

    inputs: dict[str, torch.Tensor]
    embeddings: dict[str, torch.Tensor]
    logits: torch.Tensor
    scores: torch.Tensor
    gates: dict[str, torch.Tensor]
    outputs: dict[str, torch.Tensor]


class SEAVExplainer(Explainer):
    """SE maps and modality importance of an audio-visual model with SE blocks (module docstring).

    Args:
        model: an ``ASDModel`` (or any model of the staged-forward contract with ``se_blocks()`` named by
            modality and "fusion", and ``fusion_layout()``).
        settings: how maps are drawn (``MapSettings``; default: the paper's).
        modalities: the maps to draw (default: every modality of the model that has an SE block).
    ``targets`` are accepted for interface parity: the SE maps do not depend on them.
    """

    name = "se"
    thread_safe = True

    def __init__(self, model: Any, settings: MapSettings | None = None,
                 modalities: Sequence[str] | None = None) -> None:
        self.model = model
        self.settings = settings or MapSettings()
        self.modalities = tuple(modalities) if modalities is not None else None

    @torch.no_grad()
    def explain(self, inputs: Mapping[str, Any], targets: Sequence[Target] | None = None) -> Explanation:
        batch = inputs
        run = self.forward(batch)
        lengths = item_lengths(batch, run.scores)
        maps, audio_range = self.maps(run, batch, lengths)
        stats = {name: (gate, *select_channels(gate, z=self.settings.z, top_percent=self.settings.top_percent))
                 for name, gate in run.gates.items()}
        extras = {"scores": run.scores, "lengths": lengths, "se": stats}
        if audio_range is not None:
            extras["audio_range"] = audio_range
        return Explanation(maps=maps, logits=run.logits, extras=extras, importance=self.importance(run))

    def forward(self, batch: Mapping[str, Any]) -> SEForward:
        """The staged forward in eval mode (the model's mode is restored), SE outputs captured."""
        model = self.model
        was_training = model.training
        model.eval()
        try:
            inputs = model_inputs(batch, model.modalities, model.device)
            with SECapture(model.se_blocks(), outputs=True) as capture:
                embeddings = {m: getattr(model, f"forward_{m}")(inputs[m]) for m in model.modalities}
                logits = staged_logits(model, embeddings)
        finally:
            model.train(was_training)
        outputs = dict(capture.outputs)
        if outputs.get("fusion") is not None and outputs["fusion"].dim() == 5:  # (B, C, T, 1, 1) -> (B, C, T)
            outputs["fusion"] = outputs["fusion"][..., 0, 0]
        return SEForward(inputs, embeddings, logits, speaking_probability(logits), dict(capture.gates), outputs)

    def maps(self, run: SEForward, batch: Mapping[str, Any], lengths: list[int]
             ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Maps per modality in batch layout, and the audio attention's raw (min, max) per item."""
        settings, maps, audio_range = self.settings, {}, None
        wanted = self.modalities or ("audio", "face", "body")
        for name in (m for m in ("face", "body", "audio") if m in wanted and m in run.gates):
            visual, scaled = name in VISUAL, run.outputs[name]
            as_video = visual or scaled.dim() == 5  # an audio map squeezed per step comes as (B, C, T', F', 1)
            block = BlockMaps(scaled, run.gates[name], run.scores, lengths, 2 if as_video else 3)
            size = tuple(batch[name].shape[-2:]) if visual else (batch["audio"].shape[2], batch["audio"].shape[1])
            small = reference_maps(settings.reference_for(name), block, settings)
            if not visual and as_video:
                small = small[..., 0].transpose(1, 2)  # (B, T', F', 1) -> (B, F', T')
            full = resize_maps(small, size, settings.interpolation).cpu()
            if visual:
                maps[name] = _scaled_items(full, lengths, per_frame=settings.normalize == "frame")
            else:
                maps[name], audio_range = _scaled_audio(full, lengths, run.scores.shape[1])
        return maps, audio_range

    def importance(self, run: SEForward) -> dict[str, dict[str, torch.Tensor]]:
        """{kind: {modality: (B, T)}}: SE mass and kept-channel shares of the fusion gate, and occlusion."""
        out: dict[str, dict[str, torch.Tensor]] = {}
        frames = run.scores.shape[1]
        gate = run.gates.get("fusion")
        if gate is not None:
            layout = fusion_layout(self.model, gate.shape[1])
            out["se_mass"] = {m: v.cpu() for m, v in se_mass_share(gate, layout, frames).items()}
            out["kept_channels"] = {m: v.cpu() for m, v in kept_channel_share(
                gate, layout, frames, z=self.settings.z, top_percent=self.settings.top_percent).items()}
        if self.settings.occlusion and len(run.inputs) > 1:
            occluded = occlusion_importance(self.model, run.inputs, run.embeddings, run.scores, tuple(run.inputs))
            out["occlusion"] = {m: v.cpu() for m, v in occluded.items()}
        return out


def item_lengths(batch: Mapping[str, Any], scores: torch.Tensor) -> list[int]:
    """Each item's number of real frames (``label_mask``; all frames without one)."""
    mask = batch.get("label_mask")
    if mask is None:
        return [scores.shape[1]] * scores.shape[0]
    return [int(v) for v in torch.as_tensor(mask).sum(dim=1).tolist()]


def unit_range(maps: torch.Tensor, per_frame: bool) -> torch.Tensor:
    """Min-max scale to [0, 1]: each (H, W) frame of (T, H, W) maps, or the whole array."""
    flat = maps.reshape(maps.shape[0], -1) if per_frame else maps.reshape(1, -1)
    lo, hi = torch.aminmax(flat, dim=1, keepdim=True)
    return (flat - lo).div_((hi - lo).clamp_min_(1e-12)).clamp_(0.0, 1.0).reshape(maps.shape)


def _scaled_items(maps: torch.Tensor, lengths: list[int], per_frame: bool) -> torch.Tensor:
    """(B, T, H, W) raw maps -> each item's first n frames scaled to [0, 1], padding 0."""
    if per_frame:  # each frame on its own: every frame of the batch in one pass
        out = unit_range(maps.reshape(-1, *maps.shape[2:]), per_frame=True).reshape(maps.shape)
        for b, n in enumerate(lengths):
            out[b, n:] = 0.0
        return out
    out = torch.zeros_like(maps)
    for b, n in enumerate(lengths):
        out[b, :n] = unit_range(maps[b, :n], per_frame=False)
    return out


def _scaled_audio(maps: torch.Tensor, lengths: list[int], frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, F, 4T) raw attention -> (B, 4T, F) scaled over each item's 4n audio frames, and raw (B, 2) ranges."""
    out = torch.zeros_like(maps)
    ranges = torch.zeros(maps.shape[0], 2)
    steps = maps.shape[2] // max(frames, 1)  # audio frames per video frame
    for b, n in enumerate(lengths):
        raw = maps[b, :, :steps * n]
        out[b, :, :steps * n] = unit_range(raw, per_frame=False)
        ranges[b] = torch.stack([raw.min(), raw.max()])
    return out.transpose(1, 2), ranges


def resize_maps(maps: torch.Tensor, size: tuple[int, int], mode: Interpolation = "bicubic") -> torch.Tensor:
    """Upsample maps (..., h, w) to (..., H, W) exactly as ``F.interpolate(mode, align_corners=False)`` does,
    as two small matrix products (the interpolation is separable and linear): ~10x faster for many frames."""
    rows = _interpolation_matrix(maps.shape[-2], size[0], mode).to(maps)
    cols = _interpolation_matrix(maps.shape[-1], size[1], mode).to(maps)
    return rows @ maps @ cols.T


@lru_cache(maxsize=32)
def _interpolation_matrix(n_in: int, n_out: int, mode: str) -> torch.Tensor:
    """(n_out, n_in): row i = the weights F.interpolate gives output i along one axis."""
    basis = torch.eye(n_in, dtype=torch.float64)[:, None, :, None]  # n_in one-hot signals (N, 1, n_in, 1)
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    out = F.interpolate(basis, size=(n_out, 1), mode=mode, **kwargs)[:, 0, :, 0]  # (n_in, n_out)
    return out.T.float().contiguous()
