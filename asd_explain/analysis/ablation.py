"""Threshold and interpolation ablations of the SE heatmap, measured by Deletion / Insertion and pointing.

Settings (``ablation_settings``): the threshold group varies the channel selection with bicubic
upsampling (z = 0.674 / 1.282 / 1.645, i.e. the top 25% / 10% / 5% of a normal distribution, and the
exact top-k%); the interpolation group varies the upsampling (nearest, bilinear, bicubic) at z = 1.282.
The paper's choice, "z=1.282/bicubic", is in both groups and is the reference.

Every setting explains the SAME inputs from the SAME forward (the SE block's output is computed once
per batch), so the settings are compared pairwise, unit by unit:
- images (``image_ablation``, a classifier with masks such as ``shapes``): Deletion / Insertion AUC
  (``metrics.deletion``, RISE settings with ``cfg.image_steps`` steps), pointing game and energy in the
  object mask on correctly classified images;
- clips of the audio-visual model (``av_ablation``; clips with at least one speaking frame, spread evenly
  over the store): Deletion / Insertion of the face crops (pixels of
  each frame ranked by its own map, only the face encoder re-run: ``av_baselines.CachedStages``), mouth
  pointing (face map maximum in the mouth box) and gesture pointing (body map in the gesture box) on the
  speaking (SPEAKING_AUDIBLE) frames, whatever their score (so a weak model still gives units), and the
  audio attention's mass in the track's own voiced frames over their share.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from ..constants import DEFAULT_Z, MODALITIES
from ..data.dataset import TrackDataset, collate
from ..data.preprocessing import model_preprocessing
from ..data.store import TrackStore
from ..explain.av_baselines import CachedStages
from ..explain.av_evidence import track_evidence
from ..explain.se_explainer import se_forward
from ..explain.se_maps import se_heatmaps
from ..metrics.deletion import CausalSettings, deletion_insertion
from ..metrics.pointing import energy_in_mask, pointing_game
from ..models.asd_model import ASDModel
from .av_pass import load_evidence_for
from .config import AnalysisConfig

REFERENCE = f"z={DEFAULT_Z:g}/bicubic"


@dataclass(frozen=True)
class Setting:
    """One way of making the heatmap: threshold z (or exact ``top_percent``) and the upsampling mode."""

    name: str
    groups: tuple[str, ...]
    z: float
    top_percent: float | None
    interpolation: str

    def maps(self, scaled: torch.Tensor, excitation: torch.Tensor, out_size: Sequence[int],
             normalize: str = "sample") -> torch.Tensor:
        return se_heatmaps(scaled, excitation, out_size, z=self.z, top_percent=self.top_percent,
                           interpolation=self.interpolation, normalize=normalize).maps  # type: ignore[arg-type]


def ablation_settings(cfg: AnalysisConfig) -> list[Setting]:
    """Threshold group (bicubic) then interpolation group (z = 1.282); the reference appears once."""
    settings = [Setting(f"z={z:g}/bicubic", ("threshold",) + (("interpolation",) if z == DEFAULT_Z else ()), z, None,
                        "bicubic") for z in cfg.z_values]
    settings += [Setting(f"top{p:g}%/bicubic", ("threshold",), DEFAULT_Z, p, "bicubic") for p in cfg.top_percents]
    settings += [Setting(f"z={DEFAULT_Z:g}/{m}", ("interpolation",), DEFAULT_Z, None, m) for m in cfg.interpolations
                 if m != "bicubic"]
    return settings


def image_ablation(model: nn.Module, dataset: Dataset, settings: Sequence[Setting], cfg: AnalysisConfig, *,
                   device: torch.device | str = "cpu", progress: bool = True) -> list[dict[str, Any]]:
    """Rows (setting, unit = image index): deletion_auc, insertion_auc, pointing_hit, energy_in_mask, kept."""
    model = model.eval()
    causal = CausalSettings(steps=cfg.image_steps, batch_size=64)
    count = min(cfg.ablation_images, len(dataset))
    loader = DataLoader(Subset(dataset, range(count)), batch_size=cfg.batch_size)
    has_masks = bool(getattr(dataset, "has_masks", False))
    rows: list[dict[str, Any]] = []
    first = 0
    for batch in tqdm(loader, desc="image ablation", unit="batch", disable=not progress):
        images = batch["image"].to(device)
        logits, scaled, excitation = se_forward(model, images)
        correct = (logits.argmax(1).cpu() == batch["label"]).numpy()
        for setting in settings:
            maps = setting.maps(scaled, excitation, images.shape[-2:])
            curves = deletion_insertion(model, images, maps, causal)
            hits = energy = None
            if has_masks:
                masks = batch["mask"].to(maps.device)
                hits, energy = pointing_game(maps, masks).cpu().numpy(), energy_in_mask(maps, masks).cpu().numpy()
                scored = correct & batch["mask"].flatten(1).any(1).numpy()  # correct, with an object to point at
            for i in range(images.shape[0]):
                rows.append({"setting": setting.name, "unit": first + i, "correct": bool(correct[i]),
                             "deletion_auc": float(curves.deletion_auc[i]),
                             "insertion_auc": float(curves.insertion_auc[i]),
                             "pointing_hit": float(hits[i]) if hits is not None and scored[i] else None,
                             "energy_in_mask": float(energy[i]) if energy is not None and scored[i] else None})
        first += images.shape[0]
    return rows


def speaking_clips(store: TrackStore, clip_frames: int, count: int) -> list[tuple[int, int, int]]:
    """``count`` clips (track, start, n) spread evenly over the store's whole clips that hold at least one
    SPEAKING_AUDIBLE frame (so every clip scores pointing; all whole clips when none does); reads labels only."""
    speaking, whole = [], []
    for track_index, entity_id in enumerate(store.entity_ids):
        labels = np.asarray(store.read(entity_id, modalities=()).labels)
        for start in range(0, len(labels) - clip_frames + 1, clip_frames):
            whole.append((track_index, start, clip_frames))
            if (labels[start:start + clip_frames] == 1).any():
                speaking.append(whole[-1])
    candidates = speaking or whole
    if not candidates:
        raise ValueError(f"{store.path}: no track has {clip_frames} frames; lower clip_frames")
    if count >= len(candidates):
        return candidates
    return [candidates[i] for i in np.linspace(0, len(candidates) - 1, count).round().astype(int)]


def _clip_evidence(store: TrackStore, corpus: str, keys: list[tuple[int, int, int]], cache: dict) -> list:
    """Evidence (``av_evidence.TrackEvidence``) of each clip, one video's evidence file cached at a time."""
    out = []
    for track_index, start, n in keys:
        track = store.read(store.entity_ids[track_index], start, start + n, modalities=("face", "body"))
        if cache.get("video") != track.video_id:
            cache.clear()
            cache.update(video=track.video_id, evidence=load_evidence_for(corpus, track.video_id))
        out.append(track_evidence(track, cache["evidence"]))
    return out


def _clip_dataset(store: TrackStore, model: ASDModel) -> TrackDataset:
    c = model.config
    names = tuple(m for m in MODALITIES if m in c.modalities)
    prep = model_preprocessing(model)
    return TrackDataset(store, audio_feature=c.audio_feature,
                        n_mels=c.n_audio_features if c.audio_feature == "logmel" else 40, modalities=names,
                        grey_norm=(prep.face_mean, prep.face_std), body_hide_face=prep.hide_margin)


def av_ablation(model: ASDModel, store: TrackStore, settings: Sequence[Setting], cfg: AnalysisConfig, *,
                corpus: str | None = None, clips_per_batch: int = 4, progress: bool = True) -> list[dict[str, Any]]:
    """Rows (setting, unit = clip): face Deletion / Insertion AUC and, with ``corpus``, pointing counts."""
    model = model.eval()
    clips = speaking_clips(store, cfg.clip_frames, cfg.av_clips)
    dataset = _clip_dataset(store, model)
    causal = CausalSettings(steps=cfg.av_steps, batch_size=16)
    rows: list[dict[str, Any]] = []
    cache: dict[str, Any] = {}
    batches = [clips[i:i + clips_per_batch] for i in range(0, len(clips), clips_per_batch)]
    for keys in tqdm(batches, desc="AV ablation", unit="batch", disable=not progress):
        batch = collate([dataset[k] for k in keys])
        batch = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        out = model.explain_forward(batch)
        evidence = _clip_evidence(store, corpus, keys, cache) if corpus else None
        stages = CachedStages(model, batch, "face") if "face" in out["se"] else None
        for setting in settings:
            scored = _score_clips(batch, out, setting, causal, stages, evidence)
            rows += [dict(r, setting=setting.name, unit=tuple(keys[i][:2])) for i, r in enumerate(scored)]
    return rows


def _score_clips(batch: dict[str, Any], out: dict[str, Any], setting: Setting, causal: CausalSettings,
                 stages: CachedStages | None, evidence: list | None) -> list[dict[str, Any]]:
    """The metrics of one setting on one batch of clips, one dict per clip."""
    se = out["se"]
    rows: list[dict[str, Any]] = [{} for _ in batch["entity_ids"]]
    maps = {}
    for name in ("face", "body"):
        if name in se:
            maps[name] = setting.maps(se[name]["scaled"], se[name]["excitation"], batch[name].shape[-2:], "frame")
    if stages is not None:
        curves = deletion_insertion(stages, batch["face"], maps["face"], causal)
        for i, row in enumerate(rows):
            row.update(face_deletion_auc=float(curves.deletion_auc[i]),
                       face_insertion_auc=float(curves.insertion_auc[i]))
    if evidence is None:
        return rows
    speaking = (batch["labels"] == 1).cpu().numpy()
    for name, attr, key in (("face", "mouth_masks", "mouth"), ("body", "gesture_masks", "gesture")):
        if name not in maps:
            continue
        for i, (row, ev) in enumerate(zip(rows, evidence, strict=True)):
            masks = getattr(ev, attr)
            if masks is not None:
                hits = pointing_game(maps[name][i:i + 1].cpu(), torch.from_numpy(masks)[None])[0].numpy()
                row.update({f"{key}_hits": float(hits[speaking[i]].sum()), f"{key}_frames": float(speaking[i].sum())})
    if "audio" in se:
        _audio_rows(rows, se["audio"], setting, batch, evidence)
    return rows


def _audio_rows(rows: list[dict[str, Any]], block: dict[str, torch.Tensor], setting: Setting, batch: dict[str, Any],
                evidence: list) -> None:
    """Attention mass in the track's own voiced audio frames (numerator) and those frames' share (denominator)."""
    size = (batch["audio"].shape[2], batch["audio"].shape[1])  # (F, 4T)
    attention = setting.maps(block["scaled"], block["excitation"], size).float().cpu()  # (B, F, 4T)
    mass = attention.clamp_min(0).sum(dim=1).numpy()  # (B, 4T)
    for i, (row, ev) in enumerate(zip(rows, evidence, strict=True)):
        voiced = ev.voiced_own[: mass.shape[1]]
        if voiced.any():
            row.update(audio_voiced_mass=float(mass[i][voiced].sum() / max(mass[i].sum(), 1e-12)),
                       audio_voiced_share=float(voiced.mean()))


IMAGE_METRICS = (("deletion_auc", False, None), ("insertion_auc", True, None), ("pointing_hit", True, None),
                 ("energy_in_mask", True, None))
AV_METRICS = (("face_deletion_auc", False, None), ("face_insertion_auc", True, None),
              ("mouth_hits", True, "mouth_frames"), ("gesture_hits", True, "gesture_frames"),
              ("audio_voiced_mass", True, "audio_voiced_share"))
