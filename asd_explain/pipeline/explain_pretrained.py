"""``explain VIDEO --pretrained light-asd|lr-asd``: a published AVA-trained model on a real video, explained.

Steps: the authors' preparation of the face tracks (``pretrained_inputs.prepare``: 25 fps, detector +
IoU tracker, 13-frame median box smoothing, crop scale 0.40, 224 -> centre 112 grey, psf MFCC), per-frame
scores by the authors' multi-duration averaging (or one pass, ``scoring="single-pass"``), the SE explanation
of the model with SE blocks (``pretrained_track``: face heatmaps over the 112 px crop, MFCC attention,
modality importance), mouth pointing when a landmark model is installed, then the same files as
``explain_video`` writes for the toolkit's own model, drawn by the same renderers:

  <video>_explained.mp4   boxes coloured by score, the face heatmap laid over the crop's window in the frame,
                          the spectrogram strip with the MFCC attention's time profile; original audio
  scores.csv              official AVA prediction layout (25 fps timestamps, detector boxes, P(speaking))
  summary.json            video facts, what was done (notes: silence used, no face...), per track: segments,
                          the authors' score, shares shown (``shown_shares``), every importance, pointing
  summary.png, tracks/    per-track sheets (``track_sheet``) and their JSON

Everything is written into a hidden staging folder beside ``out_dir`` and moved into it at the end, so a run
that fails leaves no half-written outputs (``summary.json`` is moved last).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import atomic_write_text
from ..explain.map_settings import MapSettings
from ..explain.shown_shares import DEFAULT_SHARES, shares_move, shown_shares
from ..metrics.ava_csv import PREDICTION_COLUMNS, write_ava_csv
from ..models.pretrained import load_pretrained
from ..pretrained_inputs.audio import AUTHORS_SAMPLE_RATE_HZ, AudioDecodeError, decode_audio_s16
from ..pretrained_inputs.multi_duration import AUTHORS_DURATIONS_S
from ..pretrained_inputs.prepare import AuthorsPrepConfig, AuthorsVideo, prepare_authors_tracks
from ..runtime import resolve_device
from .explain_video import _render, _soundtrack, _StageClock, _summary_sheet, open_media, speaking_segments
from .pretrained_render import source_frame_results
from .pretrained_track import explain_authors_track, load_explained_model, published_name


@dataclass
class PretrainedExplainOptions:
    """``scoring``: "multi-duration" (the authors' averaging over ``durations_s``) or "single-pass";
    ``shares``: the modality shares shown (``shown_shares.SHARE_KINDS``); ``landmarks``: mouth landmark
    model for the pointing number ("auto": dlib68 when installed, "none": off)."""

    model: str = "light-asd"
    weights: str | None = None
    se_checkpoint: str | None = None
    scoring: str = "multi-duration"
    durations_s: tuple[float, ...] = AUTHORS_DURATIONS_S
    detector: str = "dlib"
    detect_every: int = 1
    video_id: str | None = None
    maps: MapSettings = field(default_factory=MapSettings)
    shares: str = DEFAULT_SHARES
    landmarks: str = "auto"
    render: bool = True
    encode_preset: str = "superfast"
    crf: int = 23
    device: str = "auto"
    progress: bool = True
    method: str = "se"  # for the shared renderer's settings block


def explain_video_pretrained(video: str | Path, out_dir: str | Path,
                             options: PretrainedExplainOptions | None = None) -> dict[str, Any]:
    """Explain who speaks in ``video`` with a published model; returns the summary written to summary.json."""
    opts = options or PretrainedExplainOptions()
    video, out = Path(video), Path(out_dir)
    started = time.perf_counter()
    source, streams = open_media(video)
    video_id = opts.video_id or video.stem
    model = load_explained_model(opts.model, opts.weights, opts.se_checkpoint, resolve_device(opts.device))
    notes: list[str] = []
    clock = _StageClock()
    audio16, audio_t0, original_audio, audio_lost_s = _soundtrack(video, streams, source, notes)
    soundtrack = _authors_soundtrack(video, original_audio is not None, audio16, audio_t0, notes)
    clock.lap("audio")
    prep = AuthorsPrepConfig(detector=opts.detector, detect_every=opts.detect_every)
    prepared = prepare_authors_tracks(video, prep, progress=opts.progress, soundtrack=soundtrack)
    clock.lap("tracks")
    if not prepared.tracks:
        notes.append("no face found: nothing to score; the output video shows the input unchanged")
    scorer = load_pretrained(opts.model, opts.weights, device=model.device) if opts.se_checkpoint else None
    results = [explain_authors_track(model, t.faces, t.mfcc, settings=opts.maps, scoring=opts.scoring,
                                     durations_s=opts.durations_s, entity_id=_entity_id(video_id, t),
                                     timestamps_s=t.timestamps_s, scorer=scorer) for t in prepared.tracks]
    clock.lap("model")
    pointing = _mouth_pointing(prepared, results, opts, notes)
    clock.lap("landmarks")
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        outputs = _write_outputs(stage, out, video, video_id, source, prepared, results, audio16,
                                 original_audio, notes, opts)
        clock.lap("render")
        summary = _summary(video, video_id, source, streams, prepared, results, pointing, notes, outputs, opts,
                           model, time.perf_counter() - started)
        summary["stage_seconds"] = clock.laps
        summary["stage_cpu_seconds"] = clock.cpu_laps
        summary["audio_lost_s"] = round(float(audio_lost_s), 3)
        atomic_write_text(stage / "summary.json", json.dumps(summary, indent=2))
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


def _entity_id(video_id: str, track) -> str:
    times = track.timestamps_s
    return f"{video_id}_{times[0]:.2f}_{times[-1]:.2f}:{track.track_id}"


def _authors_soundtrack(video: Path, decodable: bool, audio16: np.ndarray, audio_t0: float,
                        notes: list[str]) -> tuple[np.ndarray, float]:
    """The authors' 16 kHz s16 samples; silence (already noted by ``_soundtrack``) where there is no usable
    audio."""
    silence = (np.zeros(len(audio16), np.int16), audio_t0)
    if not decodable:
        return silence
    try:
        return decode_audio_s16(video, AUTHORS_SAMPLE_RATE_HZ)
    except AudioDecodeError as err:
        notes.append(f"audio could not be decoded the authors' way ({err}); scored as silence")
        return silence


def _mouth_pointing(prepared: AuthorsVideo, results, opts: PretrainedExplainOptions,
                    notes: list[str]) -> list[dict[str, Any] | None]:
    """Per track: face heatmap maximum inside the mouth region (landmarks) on speaking frames."""
    if opts.landmarks == "none" or not prepared.tracks:
        return [None] * len(prepared.tracks)
    from ..metrics.mouth import mouth_pointing
    from ..pipeline.landmarks import LandmarksUnavailable
    from ..pretrained_inputs.prepare import authors_mouth_regions

    name = "dlib68" if opts.landmarks == "auto" else opts.landmarks
    try:
        regions = authors_mouth_regions(prepared, name, progress=opts.progress)
    except LandmarksUnavailable as err:
        if opts.landmarks != "auto":
            raise ValueError(str(err)) from None
        notes.append(f"no mouth pointing: {err}")
        return [None] * len(prepared.tracks)
    out = []
    for result, region in zip(results, regions):
        expl = result.explanation
        hits, valid = mouth_pointing(expl.face_maps, region)
        speaking = expl.scores >= 0.5
        used = valid & speaking
        out.append({"landmarks": name, "speaking_frames": int(speaking.sum()),
                    "frames_with_mouth": int(used.sum()),
                    "pointing": round(float(hits[used].mean()), 4) if used.any() else None})
    return out


def _write_outputs(stage: Path, out: Path, video: Path, video_id: str, source, prepared: AuthorsVideo, results,
                   audio16, original_audio, notes, opts) -> dict[str, str]:
    """scores.csv, MP4, sheets into ``stage``; returns the final paths (under ``out``)."""
    _write_scores(stage / "scores.csv", video_id, prepared, results)
    outputs = {"scores_csv": str(out / "scores.csv"), "summary_json": str(out / "summary.json")}
    if not opts.render:
        return outputs
    shown = [replace(r.explanation, modality_shares=shown_shares(r.explanation.importance, opts.shares)[1])
             for r in results]
    drawn = source_frame_results(source, prepared, shown)
    name = f"{video_id}_explained.mp4"
    _render(source, drawn, stage / name, video, audio16, original_audio, notes, opts)
    outputs["video"] = str(out / name)
    if results:
        faces = [_Crops(t.faces) for t in prepared.tracks]
        _summary_sheet(stage, shown, faces)
        outputs["summary_png"] = str(out / "summary.png")
    return outputs


@dataclass
class _Crops:
    face: np.ndarray
    body: None = None


def _write_scores(path: Path, video_id: str, prepared: AuthorsVideo, results) -> None:
    height, width = prepared.frame_size_hw
    rows = []
    for track, result in zip(prepared.tracks, results):
        boxes = np.clip(track.boxes / np.array([width, height, width, height], np.float32), 0.0, 1.0)
        rows.append(pd.DataFrame({
            "video_id": video_id, "frame_timestamp": np.round(track.timestamps_s, 6),
            "entity_box_x1": boxes[:, 0], "entity_box_y1": boxes[:, 1], "entity_box_x2": boxes[:, 2],
            "entity_box_y2": boxes[:, 3], "label": "SPEAKING_AUDIBLE", "entity_id": result.explanation.entity_id,
            "score": result.explanation.scores}))
    frame = pd.concat(rows) if rows else pd.DataFrame(columns=PREDICTION_COLUMNS)
    write_ava_csv(frame, path, predictions=True)


def _publish(stage: Path, out: Path) -> None:
    """Move every staged file into ``out`` (replacing older ones); summary.json last."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in stage.rglob("*") if p.is_file()), key=lambda p: p.name == "summary.json")
    for path in files:
        target = out / path.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


def _round(values: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {k: {m: round(float(v), 4) for m, v in vs.items()} for k, vs in values.items()}


def _summary(video, video_id, source, streams, prepared: AuthorsVideo, results, pointing, notes, outputs, opts,
             model, seconds) -> dict[str, Any]:
    tracks = []
    for track, result, point in zip(prepared.tracks, results, pointing):
        expl = result.explanation
        kind, shares = shown_shares(expl.importance, opts.shares)
        tracks.append({
            "entity_id": expl.entity_id, "start_s": round(float(track.timestamps_s[0]), 3),
            "end_s": round(float(track.timestamps_s[-1]), 3), "frames": int(len(expl.scores)),
            "mean_score": round(float(expl.scores.mean()), 4),
            "mean_authors_score": round(float(result.authors_scores.mean()), 4),
            "speaking_segments": speaking_segments(track.timestamps_s, expl.scores, prepared.fps),
            "shares_kind": kind, "modality_shares": {m: round(float(v.mean()), 4) for m, v in shares.items()},
            "shares_move": shares_move(shares),
            "modality_importance": _round(expl.track_importance), "mouth_pointing": point,
        })
    duration = float(len(source) / source.fps)
    return {
        "video": str(video), "video_id": video_id, "fps": source.fps, "frames": len(source),
        "width": source.width, "height": source.height, "duration_s": round(duration, 3),
        "has_audio": streams.has_audio, "faces_found": bool(results), "tracks": tracks, "notes": notes,
        "pretrained": {"model": published_name(model), "se": "distilled" if opts.se_checkpoint else "identity at init",
                       "se_checkpoint": opts.se_checkpoint, "scoring": opts.scoring,
                       "scores_from": "published model without SE" if opts.se_checkpoint else "explained model "
                                      "(identity SE: the published model's outputs)",
                       "durations_s": list(opts.durations_s) if opts.scoring == "multi-duration" else None,
                       "analysis_fps": prepared.fps,
                       "score": "P(speaking) = softmax of the per-frame logits (averaged over the durations); "
                                "authors' score = its class-1 logit"},
        "track_source": {"source": "detector", **{k: v for k, v in prepared.info.items() if _jsonable(v)}},
        "settings": {**opts.maps.to_dict(), "shares": opts.shares, "encode_preset": opts.encode_preset,
                     "crf": opts.crf},
        "outputs": outputs, "seconds": round(seconds, 2), "real_time_factor": round(duration / max(seconds, 1e-9), 3),
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except TypeError:
        return False
