"""One face track prepared the authors' way, scored and explained by a published model with SE blocks.

``load_explained_model(name, weights, se_checkpoint)``: the published model with SE blocks: identity at
initialisation (outputs equal the published model's), or the distilled SE blocks of ``se_checkpoint``
(``asd-explain distill``; read by ``asd_explain.distill.checkpoint.load_distilled``).

``explain_authors_track(model, track, ...)`` -> ``PretrainedTrackResult``:
  explanation     ``TrackExplanation`` of the SE explainer (face maps over the 112 px crop, MFCC attention
                  (13, 4T), importance {se_mass, kept_channels, occlusion[, native_gate]}: {modality: (T,)});
                  its ``scores`` are the speaking probabilities the pipeline reports (below);
  logits          (T, 2): "multi-duration" = the authors' averaging of per-frame logits over windows of
                  ``durations_s`` (``pretrained_inputs.multi_duration``), "single-pass" = one pass over the
                  whole track (the explainer's own forward, no extra cost);
  authors_scores  (T,) the class-1 logit of ``logits``: the authors' per-frame score (> 0 speaking).
The scores are the explained model's with identity SE (the published model's own), and the published model's
without SE when the SE blocks are distilled (``scorer``; h17c measured the student's logits shifted).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..explain.av_se import SEAVExplainer
from ..explain.av_track import TrackExplanation, join_explanations, track_explanations
from ..explain.importance import staged_logits
from ..explain.map_settings import MapSettings
from ..models.heads import speaking_probability
from ..models.pretrained import load_pretrained
from ..models.windowed_faces import EncoderPass, temporal_radius, windowed_face_embeddings
from ..pretrained_inputs.multi_duration import (
    AUDIO_FRAMES_PER_VIDEO_FRAME,
    AUTHORS_DURATIONS_S,
    common_length,
    window_starts,
)

SCORING = ("multi-duration", "single-pass")


class PretrainedSEExplainer(SEAVExplainer):
    """``SEAVExplainer`` for the published models; adds LR-ASD's own fusion gate as importance
    "native_gate" {"audio": audio share, "face": 1 - audio share} (B, T) where the model has one.

    Occlusion is the same as ``importance.occlusion_importance`` (P(speak) minus P(speak) with the MFCC zeroed
    or the crops grey) but the blank's embedding costs a short clip, not a second encoder pass over the track
    (``blank_embedding``)."""

    def __init__(self, model: Any, settings: MapSettings | None = None,
                 modalities: Sequence[str] | None = None) -> None:
        settings = settings or MapSettings()
        self.occlusion = settings.occlusion
        super().__init__(model, replace(settings, occlusion=False), modalities)

    def importance(self, run) -> dict[str, dict[str, torch.Tensor]]:
        out = super().importance(run)
        if self.occlusion:
            out["occlusion"] = {m: v.cpu() for m, v in fast_occlusion(self.model, run).items()}
        native = getattr(self.model, "native_modality_gate", None)
        if native is not None:
            from ..models.lr_asd import modality_gate_shares

            audio = modality_gate_shares(native(run.embeddings))["audio_share"].float().cpu()
            out["native_gate"] = {"audio": audio, "face": 1.0 - audio}
        return out


#: frames of context on each side that change an encoder's output frame: Light-ASD's temporal convs reach
#: 2 frames in each of 3 blocks (6), LR-ASD's 2 + 1 (9); the audio encoder fewer output frames. 16 covers both.
TEMPORAL_RADIUS_FRAMES = 16


@torch.no_grad()
def blank_embedding(model: Any, modality: str, like: torch.Tensor, radius: int = TEMPORAL_RADIUS_FRAMES
                    ) -> torch.Tensor:
    """``forward_<modality>`` of an all-zero input shaped like ``like[:1]`` (B = 1, T frames) -> (1, T, D),
    computed on ``2 radius + 1`` frames: a constant input gives a constant embedding beyond ``radius`` frames
    from either end, so the long output is the short one's first ``radius`` frames, its middle frame
    repeated, and its last ``radius`` frames (the same numbers as the full pass: tested)."""
    steps = 4 if modality == "audio" else 1  # MFCC frames per video frame
    frames = like.shape[1] // steps
    short = min(frames, 2 * radius + 1)
    embed = getattr(model, f"forward_{modality}")(torch.zeros_like(like[:1, :steps * short]))
    if short == frames:
        return embed
    middle = embed[:, radius:radius + 1].expand(-1, frames - 2 * radius, -1)
    return torch.cat([embed[:, :radius], middle, embed[:, short - radius:]], dim=1)


@torch.no_grad()
def fast_occlusion(model: Any, run) -> dict[str, torch.Tensor]:
    """{modality: (B, T)} P(speak) minus P(speak) with that modality's input zeroed (``SEForward`` ``run``);
    the blanked variants of every modality go through fusion, temporal model and head as one batch."""
    names = list(run.inputs)
    batch = run.scores.shape[0]
    variants = {m: torch.cat([blank_embedding(model, m, run.inputs[m], _blank_radius(model, m))
                              .expand_as(run.embeddings[m]) if m == k else run.embeddings[m] for k in names])
                for m in names}
    blanked = speaking_probability(staged_logits(model, variants))  # (M B, T), modality-major
    return {m: run.scores.float() - blanked[i * batch:(i + 1) * batch] for i, m in enumerate(names)}


def _blank_radius(model: Any, modality: str) -> int:
    """The visual encoder's declared reach (``windowed_faces.temporal_radius``: 6 frames for Light-ASD, 9 for
    LR-ASD) for the face, else ``TEMPORAL_RADIUS_FRAMES``."""
    declared = temporal_radius(model) if modality == "face" else None
    return TEMPORAL_RADIUS_FRAMES if declared is None else declared


def load_explained_model(name: str, weights: str | Path | None = None, se_checkpoint: str | Path | None = None,
                         device: str | torch.device = "cpu") -> Any:
    """The published model ``name`` with SE blocks (identity at init, or distilled from ``se_checkpoint``)."""
    if se_checkpoint is None:
        return load_pretrained(name, weights, se=True, device=device)
    try:
        from ..distill.checkpoint import load_distilled
    except ImportError:
        raise ValueError(f"{se_checkpoint}: reading distilled SE checkpoints needs asd_explain.distill "
                         "(asd-explain distill), which this installation lacks") from None
    model = load_distilled(se_checkpoint, weights, device=device)
    if getattr(model, "architecture", "") and name and published_name(model) != name:
        raise ValueError(f"{se_checkpoint}: distilled for {published_name(model)}, not {name}")
    return model


def published_name(model: Any) -> str:
    """"light-asd" / "lr-asd" from the model's class."""
    from ..models.pretrained import PUBLISHED

    for name, entry in PUBLISHED.items():
        if type(model) is entry.builder:
            return name
    return getattr(model, "architecture", type(model).__name__)


@dataclass
class PretrainedTrackResult:
    explanation: TrackExplanation
    logits: np.ndarray
    authors_scores: np.ndarray


def track_inputs(model: Any, faces_uint8: np.ndarray, mfcc: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, 112, 112)`` uint8 grey crops and ``(4T, 13)`` MFCC -> normalised faces (1, T, 112, 112) and
    MFCC (1, 4T, 13) on the model's device."""
    faces = model.preprocessing.normalise_faces(torch.from_numpy(np.ascontiguousarray(faces_uint8)))[None]
    return faces.to(model.device), torch.from_numpy(np.ascontiguousarray(mfcc, np.float32))[None].to(model.device)


def duration_windows(n_video: int, n_audio: int, durations_s: Sequence[float], fps: float = 25.0
                     ) -> tuple[int, list[list[tuple[int, int]]]]:
    """The authors' common length ``n`` of a track and, per duration, its windows ``[(a, b)]`` over ``[0, n)``."""
    n = common_length(n_video, n_audio, fps)
    return n, [window_starts(n, int(round(d * fps))) for d in durations_s]


@torch.no_grad()
def multi_duration_logits(model: Any, faces: torch.Tensor, mfcc: torch.Tensor,
                          durations_s: Sequence[float] = AUTHORS_DURATIONS_S, fps: float = 25.0,
                          embedded: dict[tuple[int, int], torch.Tensor] | None = None) -> torch.Tensor:
    """``faces (1, V, H, W)`` normalised, ``mfcc (1, A, 13)`` -> ``(T, 2)`` logits averaged over windows of each
    duration exactly as ``multi_duration_scores`` averages the class-1 logit (same trim, same windows: each
    window is scored on its own). The windows' visual embeddings come from one pass over the track and a
    little work at the cuts (``models.windowed_faces``, equal to encoding each window), or from ``embedded``
    ({(a, b): (b - a, D)}, windows already encoded; the others are encoded here); audio, fusion, temporal
    model and head run per window."""
    n, per_duration = duration_windows(faces.shape[1], mfcc.shape[1], durations_s, fps)
    embedded = dict(embedded or {})
    missing = [w for ws in per_duration for w in ws if w not in embedded]
    if missing:
        embedded.update(windowed_face_embeddings(model, faces[:, :n], missing))
    runs = []
    for windows in per_duration:
        pieces = []
        for a, b in windows:
            audio = model.forward_audio(mfcc[:, AUDIO_FRAMES_PER_VIDEO_FRAME * a:AUDIO_FRAMES_PER_VIDEO_FRAME * b])
            fused = model.forward_fusion({"audio": audio, "face": embedded[(a, b)][None]})
            pieces.append(model.forward_head(model.forward_temporal(fused))[0].float())
        runs.append(torch.cat(pieces))
    return torch.stack(runs).mean(0)


def explain_authors_track(model: Any, faces_uint8: np.ndarray, mfcc: np.ndarray, *, settings: MapSettings,
                          scoring: str = "multi-duration", durations_s: Sequence[float] = AUTHORS_DURATIONS_S,
                          chunk_frames: int = 1500, entity_id: str = "track",
                          timestamps_s: np.ndarray | None = None, scorer: Any | None = None) -> PretrainedTrackResult:
    """Scores and SE explanation of one track (module docstring); long tracks are explained in chunks of
    ``chunk_frames`` (60 s at 25 fps) and joined. ``scorer``: the model whose logits are the scores (the
    published model without SE when the explained model's SE blocks are distilled: distillation keeps the
    logits' order, not their offset; default: the explained model itself)."""
    if scoring not in SCORING:
        raise ValueError(f"scoring must be one of {', '.join(SCORING)}, got {scoring!r}")
    faces, audio = track_inputs(model, faces_uint8, mfcc)
    n = faces.shape[1]
    explainer = PretrainedSEExplainer(model, settings)
    scorer = model if scorer is None else scorer
    reuse = (scoring == "multi-duration" or scorer is not model) and _same_visual_encoder(model, scorer)
    _, per_duration = duration_windows(n, audio.shape[1], durations_s)
    pieces, logits, embedded, whole = [], [], {}, None
    for start in range(0, n, chunk_frames):
        stop = min(start + chunk_frames, n)
        batch: Mapping[str, Any] = {
            "face": faces[:, start:stop], "audio": audio[:, 4 * start:4 * stop], "entity_ids": [entity_id],
            "timestamps_s": None if timestamps_s is None else torch.as_tensor(timestamps_s[start:stop])[None]}
        with _EncoderRecorder(model if reuse else None) as recorder:
            result = explainer.explain(batch)
        pieces.append(track_explanations(result, batch)[0])
        logits.append(result.logits[0].float().cpu())
        if recorder.encoded is None:
            continue
        if start == 0 and stop == n:
            with torch.no_grad():
                whole = scorer.face_embedding(recorder.encoded.maps)
        if scoring == "multi-duration":
            inside = [(a - start, b - start) for ws in per_duration for a, b in ws if start <= a and b <= stop]
            local = windowed_face_embeddings(scorer, faces[:, start:stop], inside, recorder.encoded)
            embedded.update({(a + start, b + start): v for (a, b), v in local.items()})
    explanation = join_explanations(pieces)
    track_logits = torch.cat(logits)
    if scoring == "multi-duration":
        track_logits = multi_duration_logits(scorer, faces, audio, durations_s, embedded=embedded).cpu()
    elif scorer is not model:
        track_logits = _single_pass_logits(scorer, faces, audio, whole)
    if scoring == "multi-duration" or scorer is not model:
        explanation.scores = speaking_probability(track_logits).numpy().astype(np.float32)
    return PretrainedTrackResult(explanation, track_logits.numpy(), track_logits[:, 1].numpy().copy())


@torch.no_grad()
def _single_pass_logits(scorer: Any, faces: torch.Tensor, audio: torch.Tensor,
                        face_embedding: torch.Tensor | None) -> torch.Tensor:
    """``scorer``'s (T, 2) logits of the whole track in one pass; ``face_embedding`` (1, T, D): its visual
    embeddings when already computed over the whole track."""
    if face_embedding is None:
        return scorer(face=faces, audio=audio)["logits"][0].float().cpu()
    fused = scorer.forward_fusion({"audio": scorer.forward_audio(audio), "face": face_embedding})
    return scorer.forward_head(scorer.forward_temporal(fused))[0].float().cpu()


class _EncoderRecorder:
    """Records the visual encoder's stage outputs (pool1, pool2, block3: ``windowed_faces.EncoderPass``) during
    the first forward of ``model`` (the explanation's pass over the chunk), so that a scorer with the same
    visual encoder does not encode the frames again (the face SE sits after block3). ``model`` None or without
    the staged encoder: records nothing (``encoded`` None)."""

    def __init__(self, model: Any | None) -> None:
        encoder = getattr(model, "visual_encoder", None)
        names = ("pool1", "pool2", "block3")
        self.modules = [getattr(encoder, k) for k in names] if all(hasattr(encoder, k) for k in names) else []
        self.outputs: dict[int, torch.Tensor] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> "_EncoderRecorder":
        for index, module in enumerate(self.modules):
            self._handles.append(module.register_forward_hook(self._recorder(index)))
        return self

    def _recorder(self, index: int):
        def record(_module, _inputs, output) -> None:  # returns None: the module's output is left as it is
            self.outputs.setdefault(index, output)
        return record

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    @property
    def encoded(self) -> EncoderPass | None:
        if len(self.outputs) < 3:
            return None
        return EncoderPass([self.outputs[0], self.outputs[1]], self.outputs[2])


def _same_visual_encoder(a: Any, b: Any) -> bool:
    """``a`` is ``b``, or both have a ``visual_encoder`` with equal weights and buffers."""
    if a is b:
        return hasattr(a, "visual_encoder")
    if not (hasattr(a, "visual_encoder") and hasattr(b, "visual_encoder") and hasattr(b, "face_embedding")):
        return False
    ours, theirs = a.visual_encoder.state_dict(), b.visual_encoder.state_dict()
    return ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k].to(ours[k].device)) for k in ours)
