"""Explain the audio-visual model on tracks: batches from raw arrays, chunked, joined, on threads.

``explain_av_batch(model, batch, settings)`` explains a collate-style batch with the SE explainer
(``av_se.SEAVExplainer``) and returns one ``TrackExplanation`` per item (``av_track``: the per-track numpy
form that rendering and JSON read). ``explain_tracks`` / ``explain_track_arrays`` do the same for whole
tracks given as raw arrays (uint8 crops, int16 audio): inputs made once per track exactly as the store
loader makes them (``track_batch``), explained in chunks, optionally on threads, then joined. Any
audio-visual explainer (``av_explainers.build_av_explainer``) can stand in for the SE one.

Batches are dicts as ``asd_explain.data.dataset.collate`` makes them (``face (B, T, C, Hf, Wf)`` normalised
with ``normalise_frames``, ``body``, ``audio (B, 4T, F)``, optional ``label_mask``, ``entity_ids``,
``timestamps_s``, ``labels``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..constants import MODALITIES
from ..constants import VISUAL_MODALITIES as VISUAL
from ..data.audio_features import AUDIO_FRAMES_PER_VIDEO_FRAME, audio_features
from ..data.preprocessing import model_preprocessing
from ..models.asd_model import ASDModel
from .av_se import SEAVExplainer, resize_maps
from .av_track import BlockStats, TrackExplanation, join_explanations, track_explanations
from .base import Explainer
from .map_settings import MapSettings
from .references import MAP_REFERENCES

REFERENCES = tuple(MAP_REFERENCES)

__all__ = ["BlockStats", "MapSettings", "TrackExplanation", "batch_frames", "explain_av_batch", "explain_track_arrays",
           "explain_tracks", "join_explanations", "resize_maps", "track_batch"]


def explain_av_batch(model: ASDModel, batch: Mapping[str, Any], settings: MapSettings | None = None, *,
                     explainer: Explainer | None = None) -> list[TrackExplanation]:
    """One ``TrackExplanation`` per item of ``batch`` from one call of ``explainer`` (default: the SE
    explainer with ``settings``); items shorter than T are cut at their ``label_mask`` length."""
    explainer = explainer or SEAVExplainer(model, settings)
    return track_explanations(explainer.explain(batch), batch)


def track_batch(model: ASDModel, *, face: np.ndarray | None = None, body: np.ndarray | None = None,
                audio: np.ndarray | None = None, timestamps_s: np.ndarray, fps: float,
                entity_id: str = "track", labels: np.ndarray | None = None,
                device: torch.device | str | None = None, face_boxes: np.ndarray | None = None,
                body_boxes: np.ndarray | None = None, frame_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """A one-track batch from raw arrays, made as the store loader makes it.

    face / body: uint8 crops (T, H, W) grey or (T, H, W, 3) RGB; audio: (N,) int16 (or float in [-1, 1])
    at 16 kHz starting half a frame before ``timestamps_s[0]``; timestamps_s: (T,) seconds. Only the
    model's modalities are needed. Normalisation and audio features follow the model's preprocessing (the
    checkpoint's, ``data.preprocessing.model_preprocessing``); a checkpoint trained with
    ``data.body_hide_face`` needs ``face_boxes`` / ``body_boxes (T, 4)`` normalised (and the video's
    ``frame_size (H, W)``) to hide the face in the body crops as training did.
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
            if name == "body":
                frames = prep.body_crops(frames, face_boxes, body_boxes, frame_size, entity_id)
            batch[name] = torch.from_numpy(prep.normalise(np.ascontiguousarray(frames)))[None]
    if "audio" in config.modalities:
        if audio is None:
            raise ValueError("the model needs the track's audio (16 kHz samples)")
        batch["audio"] = torch.from_numpy(audio_features(audio, np.asarray(timestamps_s), fps,
                                                         prep.audio_config()))[None]
    if device is not None:
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    return batch


def explain_track_arrays(model: ASDModel, settings: MapSettings | None = None, *, chunk_frames: int = 256,
                         blank: Sequence[str] = (), explainer: Explainer | None = None,
                         **arrays: Any) -> TrackExplanation:
    """The explanation of one track given as raw arrays (``track_batch`` keyword arguments).

    The inputs are made once for the whole track (audio features from the whole track's audio), then
    long tracks are explained in consecutive chunks of at most ``chunk_frames`` frames and the pieces
    joined; the audio attention is scaled over the whole track. ``blank``: modalities replaced by blanks
    before the forward (crops at the normalisation mean, i.e. flat grey; audio features at 0), to see
    what the model does without them.
    """
    return explain_tracks(model, [arrays], settings, chunk_frames=chunk_frames, blank=blank, explainer=explainer)[0]


def explain_tracks(model: ASDModel, tracks: Sequence[Mapping[str, Any]], settings: MapSettings | None = None, *,
                   explainer: Explainer | None = None, workers: int = 1, threads_per_worker: int | None = None,
                   chunk_frames: int = 256, blank: Sequence[str] = ()) -> list[TrackExplanation]:
    """``explain_track_arrays`` of many tracks (each a dict of ``track_batch`` keyword arguments).

    The chunks of all tracks run on ``workers`` threads (longest first) sharing one model and one
    explainer (the SE explainer keeps no state; an explainer without ``thread_safe`` runs on one thread);
    the chunks and their results are exactly those of one ``explain_track_arrays`` call per track.
    ``threads_per_worker``: torch threads during the call (restored afterwards; None: unchanged, forced to
    1 when ``workers > 1``). On a CPU, one thread per worker and one worker per core keeps every core busy
    without intra-op parallelism, whose per-operation hand-offs made the convolutions ~2.5x and the GRU's
    per-time-step products 40-100x slower whenever another process used one of the cores.
    """
    unknown = [m for m in blank if m not in MODALITIES]
    if unknown:
        raise ValueError(f"cannot blank {unknown[0]!r} (modalities: {', '.join(MODALITIES)})")
    explainer = explainer or SEAVExplainer(model, settings)
    batches = []
    for arrays in tracks:
        batch = track_batch(model, **arrays)
        for name in blank:
            if name in batch:
                batch[name] = torch.zeros_like(batch[name])
        batches.append(batch)
    jobs = [(k, start, min(batch["label_mask"].shape[1], start + chunk_frames))
            for k, batch in enumerate(batches) for start in range(0, batch["label_mask"].shape[1], chunk_frames)]
    workers = max(1, min(int(workers), len(jobs))) if getattr(explainer, "thread_safe", False) else 1
    threads = 1 if workers > 1 else threads_per_worker
    previous, was_training = torch.get_num_threads(), model.training
    if threads is not None:
        torch.set_num_threads(threads)
    model.eval()
    try:
        def run(job: tuple[int, int, int]) -> list[TrackExplanation]:
            k, start, stop = job
            return explain_av_batch(model, batch_frames(batches[k], start, stop), explainer=explainer)
        pieces = [run(job) for job in jobs] if workers == 1 else _in_threads(run, jobs, workers)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    by_track: list[list[TrackExplanation]] = [[] for _ in batches]
    for (k, _, _), piece in zip(jobs, pieces):
        by_track[k] += piece
    return [join_explanations(p) for p in by_track]


def _in_threads(run, jobs: list[tuple[int, int, int]], workers: int) -> list[list[TrackExplanation]]:
    """``run(job)`` of every job (track, start, stop) on ``workers`` threads, longest first, results in job order."""
    from concurrent.futures import ThreadPoolExecutor

    order = sorted(range(len(jobs)), key=lambda i: jobs[i][1] - jobs[i][2])
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
