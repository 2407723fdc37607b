"""Explanations of the audio-visual ASD model from its SE blocks, per track, in one no-grad forward.

``explain_av_batch(model, batch)`` runs ``ASDModel.explain_forward`` once and turns every SE block's
output into what people look at, per batch item (padding removed with ``label_mask``):

  scores            (T,)          probability of SPEAKING_AUDIBLE per frame
  face_maps         (T, Hf, Wf)   face heatmap per frame at crop resolution, in [0, 1]
  body_maps         (T, Hb, Wb)   body heatmap per frame at crop resolution, in [0, 1]
  audio_attention   (F, 4T)       attention over the feature spectrogram (frequency x audio frames), [0, 1]
  audio_features    (F, 4T)       the features themselves (log-mel or MFCC), for drawing
  modality_shares   {audio, face, body: (T,)}  shares of the fusion SE mass per frame (sum to 1)
  track_shares      {audio, face, body: float} their means over the track's frames
  kept              per SE block: channels, channels kept (per frame or per clip), threshold

Visual maps use each frame's own excitation when the model squeezes per frame (``visual_squeeze:
frame``, the default) and the clip's excitation otherwise; the audio map uses the clip's excitation
(the audio SE squeezes per clip) and is upsampled from the (F', T) feature map to (F, 4T). A model
without a body stream, a fusion SE or any SE gives ``None`` / empty entries for what it lacks.

Batches are dicts as ``asd_explain.data.dataset.collate`` makes them (``face (B, T, C, Hf, Wf)`` normalised
with ``normalise_frames``, ``body``, ``audio (B, 4T, F)``, optional ``label_mask``, ``entity_ids``,
``timestamps_s``, ``labels``); ``track_batch`` builds one from a track's raw arrays (uint8 crops, int16
audio) exactly as the store loader does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..constants import MODALITIES
from ..constants import VISUAL_MODALITIES as VISUAL
from ..data.audio_features import AUDIO_FRAMES_PER_VIDEO_FRAME, audio_features
from ..data.preprocessing import model_preprocessing
from ..models.asd_model import ASDModel
from .se_maps import DEFAULT_Z, Interpolation, se_heatmaps, select_channels

REFERENCES = ("zero", "clip-mean", "speaking", "motion")
MOTION_WINDOW_FRAMES = 25  # the "motion" reference's window: 1 s at the 25 fps the crops are stored at


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
    """The SE explanation of one track (or clip) of T frames; see the module docstring for the fields."""

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

    @property
    def n_frames(self) -> int:
        return len(self.scores)

    @property
    def track_shares(self) -> dict[str, float]:
        """Each modality's share of the fusion SE mass, averaged over the track's frames."""
        return {m: float(np.mean(v)) for m, v in self.modality_shares.items()}

    def summary(self) -> dict[str, Any]:
        """JSON-able per-frame scores and shares, per-track shares and channel statistics (no maps)."""
        out: dict[str, Any] = {
            "entity_id": self.entity_id, "n_frames": self.n_frames,
            "scores": np.round(self.scores, 5).tolist(),
            "mean_score": float(np.mean(self.scores)) if self.n_frames else None,
            "modality_shares": {m: np.round(v, 5).tolist() for m, v in self.modality_shares.items()},
            "track_shares": self.track_shares,
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


@torch.no_grad()
def explain_av_batch(model: ASDModel, batch: Mapping[str, Any], *, z: float = DEFAULT_Z,
                     top_percent: float | None = None, interpolation: Interpolation = "bicubic",
                     normalize: str = "frame", reference: str = "zero",
                     audio_reference: str | None = None, body_reference: str | None = None,
                     motion_window: int = MOTION_WINDOW_FRAMES) -> list[TrackExplanation]:
    """SE explanations of every item of ``batch`` from one no-grad forward of ``model`` (in eval mode).

    Args:
        model: an ``ASDModel`` (any modalities; SE blocks where it has them).
        batch: a collate-style dict (module docstring); items shorter than T are cut at their
            ``label_mask`` length.
        z, top_percent, interpolation: channel selection and upsampling (``se_maps.se_heatmaps``).
        normalize: visual maps scaled to [0, 1] per "frame" or over the whole "track"; the audio
            attention is always scaled over the whole track.
        reference: "zero" (the paper: maps of the SE-scaled activations) or "clip-mean" (maps of how far
            each SE-scaled channel is, in absolute value, from its own mean over the item's frames: what
            differs in this frame from the person's average frame / the clip's average sound), or
            "speaking": every channel weighted by its excitation times how positively its activity (mean
            over the map) co-varies over the item's frames with the model's speaking logit (Pearson r,
            negative r -> 0), each drawn as its rise above its own clip mean (positive part): where in
            this frame is more of what goes with speaking than usual. Ignores z / top_percent (all
            channels, weighted); costs nothing beyond the forward (the logit is its output). Or "motion":
            maps of each SE-scaled channel's standard deviation over ``motion_window`` frames centred on
            the frame: where the kept features change around this frame (a moving mouth, a blink, a
            gesture; still parts of the picture give nothing).
        audio_reference: the reference of the audio attention when it should differ from the visual maps'
            (None = ``reference``).
        body_reference: the body maps' reference when it should differ from the face maps' (None =
            ``reference``).
        motion_window: the "motion" reference's window in video frames (odd; 25 = 1 s at 25 fps); the
            audio map's steps get the same span in time.
    Returns:
        one ``TrackExplanation`` per batch item, numpy arrays on the CPU.
    """
    if normalize not in ("frame", "track"):
        raise ValueError(f"normalize must be 'frame' or 'track', got {normalize!r}")
    if motion_window < 1 or motion_window % 2 == 0:
        raise ValueError(f"motion_window must be a positive odd number of frames, got {motion_window}")
    audio_reference = reference if audio_reference is None else audio_reference
    body_reference = reference if body_reference is None else body_reference
    for value in (reference, audio_reference, body_reference):
        if value not in REFERENCES:
            raise ValueError(f"reference must be one of {', '.join(REFERENCES)}, got {value!r}")
    was_training = model.training
    model.eval()
    try:
        out = model.explain_forward(batch)
    finally:
        model.train(was_training)
    lengths = _lengths(batch, out["scores"])
    frames = out["scores"].shape[1]
    maps: dict[str, torch.Tensor] = {}
    stats: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
    for name, block in out["se"].items():
        kept, threshold = select_channels(block["excitation"], z=z, top_percent=top_percent)
        stats[name] = (block["excitation"], kept, threshold)
        if name not in MODALITIES:
            continue
        time_dim = 2 if name in VISUAL else 3  # (B, C, T, h, w) or (B, C, F', T)
        how = {"face": reference, "body": body_reference}.get(name, audio_reference)
        size = tuple(batch[name].shape[-2:]) if name in VISUAL else (batch["audio"].shape[2], batch["audio"].shape[1])
        if how == "speaking":
            small = _speaking_map(block["scaled"], block["excitation"], out["scores"], lengths, time_dim).float()
        else:
            if how == "zero":
                scaled = block["scaled"]
            elif how == "motion":
                scaled = _local_std(block["scaled"], lengths, time_dim, motion_window, frames)
            else:
                scaled = _from_clip_mean(block["scaled"], lengths, time_dim, frames)
            small = se_heatmaps(scaled, block["excitation"], None, z=z, top_percent=top_percent,
                                interpolation=interpolation, normalize="none").maps.float()
        maps[name] = resize_maps(small, size, interpolation).cpu()
    shares = {m: v.float().cpu() for m, v in out.get("modality_shares", {}).items()}
    scores = out["scores"].float().cpu()
    return [_item(b, int(n), batch, scores, maps, shares, stats, normalize) for b, n in enumerate(lengths)]


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


def _valid_steps(scaled: torch.Tensor, lengths: list[int], time_dim: int, frames: int) -> torch.Tensor:
    """(B, steps) 1.0 on each item's valid time steps of a map whose time axis spans the batch's ``frames``
    video frames (the same number of steps, or a multiple on the audio map)."""
    steps = scaled.shape[time_dim]
    frames = max(frames, 1)
    valid = torch.zeros(scaled.shape[0], steps, dtype=scaled.dtype, device=scaled.device)
    for b, n in enumerate(lengths):
        valid[b, :max(1, -(-n * steps // frames))] = 1.0
    return valid


def _clip_mean(scaled: torch.Tensor, valid: torch.Tensor, time_dim: int) -> torch.Tensor:
    """Mean of ``scaled`` over the valid steps of ``time_dim``, kept as a size-1 dimension."""
    shape = [scaled.shape[0]] + [1] * (scaled.dim() - 1)
    shape[time_dim] = valid.shape[1]
    weights = valid.view(shape)
    return (scaled * weights).sum(dim=time_dim, keepdim=True) / weights.sum(dim=time_dim, keepdim=True)


def _from_clip_mean(scaled: torch.Tensor, lengths: list[int], time_dim: int, frames: int) -> torch.Tensor:
    """|scaled - its mean over each item's valid frames| per channel (and position), same shape."""
    return (scaled - _clip_mean(scaled, _valid_steps(scaled, lengths, time_dim, frames), time_dim)).abs()


def _local_std(scaled: torch.Tensor, lengths: list[int], time_dim: int, window_frames: int,
               frames: int) -> torch.Tensor:
    """Per channel and position, the standard deviation of ``scaled`` over a window centred on each step
    (``window_frames`` video frames; the same span in time on a map with more steps), over the item's
    valid steps only (a window at an end or at the item's length is cut there); 0 on padding steps."""
    valid = _valid_steps(scaled, lengths, time_dim, frames)  # (B, steps)
    steps = scaled.shape[time_dim]
    half = max(0, round((window_frames // 2) * steps / max(frames, 1)))
    x = scaled.float().movedim(time_dim, -1)  # (B, ..., steps)
    shape = x.shape
    weights = valid.view(shape[0], *([1] * (x.dim() - 2)), steps)
    # centre on the clip mean first: the variance below is a difference of two means of squares
    x = (x - _clip_mean(x, valid, x.dim() - 1)) * weights

    def window_sum(v: torch.Tensor) -> torch.Tensor:  # sums over [t - half, t + half] from one cumulative sum
        running = F.pad(v, (half + 1, half)).cumsum(dim=-1)
        return running[..., 2 * half + 1:] - running[..., :steps]
    count = window_sum(weights.contiguous()).clamp_min(1.0)
    mean = window_sum(x) / count
    variance = (window_sum(x * x) / count - mean * mean).clamp_min(0.0)
    return (variance.sqrt() * weights).movedim(-1, time_dim).to(scaled.dtype)


def _speaking_map(scaled: torch.Tensor, excitation: torch.Tensor, scores: torch.Tensor, lengths: list[int],
                  time_dim: int) -> torch.Tensor:
    """The "speaking" reference (``explain_av_batch``): (B, T, h, w) visual or (B, F', T') audio maps.

    scaled: (B, C, T, h, w) or (B, C, F', T'); excitation: (B, C) or (B, C, T); scores: (B, T) speaking
    probabilities. Channel weight = mean excitation x max(0, Pearson r over the valid frames between the
    channel's spatial / spectral mean and the speaking logit); map = weighted mean of each channel's
    positive rise above its clip mean. A clip whose logit or channels do not vary gets a zero map.
    """
    valid = _valid_steps(scaled, lengths, time_dim, scores.shape[1])
    logit = torch.logit(scores.float().clamp(1e-6, 1 - 1e-6))
    if logit.shape[1] != valid.shape[1]:  # map steps are not video frames: put the logit on them
        logit = F.interpolate(logit[:, None], size=valid.shape[1], mode="nearest")[:, 0]
    space = tuple(d for d in range(2, scaled.dim()) if d != time_dim)
    profile = scaled.float().mean(dim=space)  # (B, C, steps)
    count = valid.sum(dim=1, keepdim=True).clamp_min(1.0)
    mask = valid[:, None, :]
    p = (profile - (profile * mask).sum(-1, keepdim=True) / count[:, None]) * mask
    y = (logit - (logit * valid).sum(-1, keepdim=True) / count) * valid
    r = (p * y[:, None, :]).sum(-1) / (p.norm(dim=-1) * y.norm(dim=-1, keepdim=True)).clamp_min(1e-12)
    gate = excitation.float()
    if gate.dim() == 3:  # per-frame excitation: its mean over the valid frames
        gate = (gate * valid[:, None, :gate.shape[2]]).sum(-1) / count
    weights = gate * r.clamp_min(0.0)  # (B, C)
    rise = (scaled.float() - _clip_mean(scaled.float(), valid, time_dim)).clamp_min(0.0)
    ones = [1] * (scaled.dim() - 2)
    total = weights.sum(dim=1).clamp_min(1e-12).view(-1, *ones)
    return (weights.view(*weights.shape, *ones) * rise).sum(dim=1) / total


def _lengths(batch: Mapping[str, Any], scores: torch.Tensor) -> list[int]:
    mask = batch.get("label_mask")
    if mask is None:
        return [scores.shape[1]] * scores.shape[0]
    return [int(v) for v in torch.as_tensor(mask).sum(dim=1).tolist()]


def _item(b: int, n: int, batch: Mapping[str, Any], scores: torch.Tensor, maps: dict[str, torch.Tensor],
          shares: dict[str, torch.Tensor], stats: dict, normalize: str) -> TrackExplanation:
    """Item ``b`` of the batch results, cut to its ``n`` frames."""
    explanation = TrackExplanation(scores=scores[b, :n].numpy().astype(np.float32))
    for name in VISUAL:
        if name in maps:
            frames = maps[name][b, :n]
            setattr(explanation, f"{name}_maps", _unit_range(frames, per_frame=normalize == "frame"))
    if "audio" in maps:
        n_audio = AUDIO_FRAMES_PER_VIDEO_FRAME * n
        raw = maps["audio"][b, :, :n_audio]
        explanation.audio_attention = _unit_range(raw, per_frame=False)
        explanation.audio_attention_range = (float(raw.min()), float(raw.max()))
        explanation.audio_features = batch["audio"][b, :n_audio].detach().float().cpu().numpy().T.copy()
    for modality, value in shares.items():
        row = value[b]
        explanation.modality_shares[modality] = (row[:n] if row.dim() else row.expand(n)).numpy().astype(np.float32)
    for name, (excitation, kept, threshold) in stats.items():
        explanation.kept[name] = _block_stats(excitation[b], kept[b], threshold[b], n)
    if batch.get("entity_ids") is not None:
        explanation.entity_id = str(batch["entity_ids"][b])
    if batch.get("timestamps_s") is not None:
        explanation.timestamps_s = np.asarray(batch["timestamps_s"][b][:n], dtype=np.float64)
    if batch.get("labels") is not None:
        explanation.labels = np.asarray(batch["labels"][b][:n])
    return explanation


def _block_stats(excitation: torch.Tensor, kept: torch.Tensor, threshold: torch.Tensor, n: int) -> BlockStats:
    """excitation/kept (C,) or (C, T'), threshold () or (T',); per-frame blocks are cut to n frames."""
    per_frame = excitation.dim() == 2
    if per_frame:
        excitation, kept, threshold = excitation[:, :n], kept[:, :n], threshold[:n]
    mean_s = excitation.float().mean(dim=1) if per_frame else excitation.float()
    top = torch.argsort(mean_s, descending=True, stable=True)[:8].tolist()
    return BlockStats(channels=int(excitation.shape[0]), kept=kept.sum(dim=0).cpu().numpy(),
                      threshold=threshold.float().cpu().numpy(), top_channels=[int(c) for c in top])


def _unit_range(maps: torch.Tensor, per_frame: bool) -> np.ndarray:
    """Min-max scale to [0, 1]: each (H, W) frame of (T, H, W) maps, or the whole array."""
    flat = maps.reshape(maps.shape[0], -1) if per_frame else maps.reshape(1, -1)
    lo = flat.min(dim=1, keepdim=True).values
    hi = flat.max(dim=1, keepdim=True).values
    scaled = ((flat - lo) / (hi - lo).clamp_min(1e-12)).clamp_(0.0, 1.0)
    return scaled.reshape(maps.shape).numpy().astype(np.float32)


def track_batch(model: ASDModel, *, face: np.ndarray | None = None, body: np.ndarray | None = None,
                audio: np.ndarray | None = None, timestamps_s: np.ndarray, fps: float,
                entity_id: str = "track", labels: np.ndarray | None = None,
                device: torch.device | str | None = None) -> dict[str, Any]:
    """A one-track batch from raw arrays, made as the store loader makes it.

    face / body: uint8 crops (T, H, W) grey or (T, H, W, 3) RGB; audio: (N,) int16 (or float in [-1, 1])
    at 16 kHz starting half a frame before ``timestamps_s[0]``; timestamps_s: (T,) seconds. Only the
    model's modalities are needed. Normalisation and audio features follow the model's preprocessing (the
    checkpoint's, ``data.preprocessing.model_preprocessing``).
    """
    config = model.config
    prep = model_preprocessing(model)
    n = len(timestamps_s)
    times = torch.tensor(np.asarray(timestamps_s, dtype=np.float64))[None]
    batch: dict[str, Any] = {"entity_ids": [entity_id], "timestamps_s": times,
                             "label_mask": torch.ones(1, n, dtype=torch.bool)}
    if labels is not None:
        batch["labels"] = torch.as_tensor(np.asarray(labels, dtype=np.int64))[None]
    arrays = {"face": face, "body": body}
    for name in config.modalities:
        if name in VISUAL:
            frames = arrays[name]
            if frames is None or len(frames) != n:
                raise ValueError(f"the model needs {name} crops for all {n} frames, got "
                                 f"{None if frames is None else len(frames)}")
            batch[name] = torch.from_numpy(prep.normalise(np.ascontiguousarray(frames)))[None]
    if "audio" in config.modalities:
        if audio is None:
            raise ValueError("the model needs the track's audio (16 kHz samples)")
        batch["audio"] = torch.from_numpy(audio_features(audio, np.asarray(timestamps_s), fps,
                                                         prep.audio_config()))[None]
    if device is not None:
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    return batch


def explain_track_arrays(model: ASDModel, *, chunk_frames: int = 256, blank: Sequence[str] = (),
                         z: float = DEFAULT_Z, top_percent: float | None = None,
                         interpolation: Interpolation = "bicubic", reference: str = "zero",
                         audio_reference: str | None = None, body_reference: str | None = None,
                         motion_window: int = MOTION_WINDOW_FRAMES, **arrays: Any) -> TrackExplanation:
    """``explain_av_batch`` of one track given as raw arrays (``track_batch`` keyword arguments).

    The inputs are made once for the whole track (audio features from the whole track's audio), then
    long tracks are explained in consecutive chunks of at most ``chunk_frames`` frames and the pieces
    joined; the audio attention is scaled over the whole track. ``blank``: modalities replaced by blanks
    before the forward (crops at the normalisation mean, i.e. flat grey; audio features at 0), to see
    what the model does without them.
    """
    return explain_tracks(model, [arrays], chunk_frames=chunk_frames, blank=blank, z=z, top_percent=top_percent,
                          interpolation=interpolation, reference=reference, audio_reference=audio_reference,
                          body_reference=body_reference, motion_window=motion_window)[0]


def explain_tracks(model: ASDModel, tracks: Sequence[Mapping[str, Any]], *, workers: int = 1,
                   threads_per_worker: int | None = None, chunk_frames: int = 256, blank: Sequence[str] = (),
                   z: float = DEFAULT_Z, top_percent: float | None = None, interpolation: Interpolation = "bicubic",
                   reference: str = "zero", audio_reference: str | None = None, body_reference: str | None = None,
                   motion_window: int = MOTION_WINDOW_FRAMES) -> list[TrackExplanation]:
    """``explain_track_arrays`` of many tracks (each a dict of ``track_batch`` keyword arguments).

    The chunks of all tracks run on ``workers`` threads (longest first), each with its own copy of the
    model (SE blocks keep their last output, so one model cannot run two forwards at once) sharing the
    weights; the chunks and their results are exactly those of one ``explain_track_arrays`` call per track.
    ``threads_per_worker``: torch threads during the call (restored afterwards; None: unchanged, forced to
    1 when ``workers > 1``). On a CPU, one thread per worker and one worker per core keeps every core busy
    without intra-op parallelism, whose per-operation hand-offs made the convolutions ~2.5x and the GRU's
    per-time-step products 40-100x slower whenever another process used one of the cores.
    """
    unknown = [m for m in blank if m not in MODALITIES]
    if unknown:
        raise ValueError(f"cannot blank {unknown[0]!r} (modalities: {', '.join(MODALITIES)})")
    batches = []
    for arrays in tracks:
        batch = track_batch(model, **arrays)
        for name in blank:
            if name in batch:
                batch[name] = torch.zeros_like(batch[name])
        batches.append(batch)
    jobs = [(k, start, min(batch["label_mask"].shape[1], start + chunk_frames))
            for k, batch in enumerate(batches) for start in range(0, batch["label_mask"].shape[1], chunk_frames)]
    options = {"z": z, "top_percent": top_percent, "interpolation": interpolation, "reference": reference,
               "audio_reference": audio_reference, "body_reference": body_reference, "motion_window": motion_window}
    workers = max(1, min(int(workers), len(jobs)))
    threads = 1 if workers > 1 else threads_per_worker
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        if workers == 1:
            pieces = [explain_av_batch(model, batch_frames(batches[k], start, stop), **options)
                      for k, start, stop in jobs]
        else:
            pieces = _explain_in_threads(model, batches, jobs, workers, options)
    finally:
        torch.set_num_threads(previous)
    by_track: list[list[TrackExplanation]] = [[] for _ in batches]
    for (k, _, _), piece in zip(jobs, pieces):
        by_track[k] += piece
    return [join_explanations(p) for p in by_track]


def _explain_in_threads(model: ASDModel, batches: list[dict[str, Any]], jobs: list[tuple[int, int, int]],
                        workers: int, options: dict[str, Any]) -> list[list[TrackExplanation]]:
    """``explain_av_batch`` of every job (track, start, stop) on ``workers`` threads, results in job order."""
    import copy
    import queue
    from concurrent.futures import ThreadPoolExecutor

    replicas: queue.SimpleQueue = queue.SimpleQueue()
    replicas.put(model)
    for _ in range(workers - 1):  # own modules (own SE outputs), the same read-only weights
        shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
        replicas.put(copy.deepcopy(model, memo=shared))

    def run(job: tuple[int, int, int]) -> list[TrackExplanation]:
        replica = replicas.get()
        try:
            k, start, stop = job
            return explain_av_batch(replica, batch_frames(batches[k], start, stop), **options)
        finally:
            replicas.put(replica)

    order = sorted(range(len(jobs)), key=lambda i: jobs[i][1] - jobs[i][2])  # longest first
    with ThreadPoolExecutor(workers, thread_name_prefix="explain") as pool:
        done = dict(zip(order, pool.map(run, [jobs[i] for i in order])))
    return [done[i] for i in range(len(jobs))]


def batch_frames(batch: Mapping[str, Any], start: int, stop: int) -> dict[str, Any]:
    """Frames ``start:stop`` of every per-frame entry of a batch (audio: audio frames 4 start : 4 stop)."""
    per_frame = ("face", "body", "label_mask", "timestamps_s", "labels")
    out = {k: (v[:, start:stop] if k in per_frame and v is not None else v) for k, v in batch.items()}
    if batch.get("audio") is not None:
        k = AUDIO_FRAMES_PER_VIDEO_FRAME
        out["audio"] = batch["audio"][:, k * start:k * stop]
    return out


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
        attention = _unit_range(torch.from_numpy(raw), per_frame=False)
    return TrackExplanation(
        scores=cat("scores"), face_maps=cat("face_maps"), body_maps=cat("body_maps"),
        audio_attention=attention, audio_features=cat("audio_features", axis=1),
        modality_shares={m: np.concatenate([p.modality_shares[m] for p in pieces]) for m in pieces[0].modality_shares},
        kept={name: _join_stats([p.kept[name] for p in pieces]) for name in pieces[0].kept},
        entity_id=pieces[0].entity_id, timestamps_s=cat("timestamps_s"), labels=cat("labels"),
        audio_attention_range=attention_range,
    )


def _join_stats(parts: list[BlockStats]) -> BlockStats:
    return BlockStats(channels=parts[0].channels, kept=np.concatenate([np.atleast_1d(p.kept) for p in parts]),
                      threshold=np.concatenate([np.atleast_1d(p.threshold) for p in parts]),
                      top_channels=parts[0].top_channels)
