"""``explain_video``: any video file -> face tracks -> crops -> scores -> SE explanations -> files.

Outputs in ``out_dir``:
  <video>_explained.mp4   the video with boxes coloured by score, face/body heatmaps and a spectrogram strip
                          with the audio attention of the most likely speaker (original audio kept)
  scores.csv              the official AVA prediction layout (no header, AVA columns + ``score``; one row per
                          track and frame)
  summary.json            video facts, how tracks were found, per track: speaking segments, modality shares
  summary.png             per-track sheet (crops with heatmaps, spectrogram attention, score and shares)
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import torch

from ..config import atomic_write_text
from ..constants import SAMPLE_RATE_HZ
from ..data.audio_features import AudioFeatureConfig, audio_features
from ..data.preprocessing import model_preprocessing
from ..explain.av import explain_tracks
from ..explain.av_explainers import build_av_explainer
from ..explain.importance import track_importance
from ..explain.map_settings import MapSettings
from ..explain.shown_shares import DEFAULT_SHARES, shares_move, shown_shares
from ..media.decode import MediaError, StreamInfo, decode_audio_checked, open_av, probe_streams
from ..media.frames import open_video
from ..metrics.ava_csv import PREDICTION_COLUMNS, write_ava_csv
from ..runtime import resolve_device
from ..train.checkpoint import load_model
from .frame_range import FrameRange
from .inputs import CropSettings, collect_inputs, entity_id_for
from .render_video import TrackResult, render_video
from .tracks_source import csv_face_tracks, detect_face_tracks


@dataclass
class ExplainVideoOptions:
    detector: str = "dlib"
    detect_every: int | None = None
    boxes_csv: str | None = None
    video_id: str | None = None
    maps: MapSettings = field(default_factory=MapSettings)  # how the SE maps and importance are made
    method: str = "se"  # the explainer (``explain.av_explainers.AV_EXPLAINERS``)
    shares: str = DEFAULT_SHARES  # the modality shares shown (``explain.shown_shares``)
    chunk_frames: int = 256
    render: bool = True
    encode_preset: str = "superfast"  # x264 preset of the MP4 (veryfast: ~1.5x slower, ~2/3 of the size)
    crf: int = 23
    device: str = "auto"
    progress: bool = True
    audio_file: str | None = None  # a separate soundtrack (wav, flac, mp3, ... ; its time 0 = the first frame)
    start_s: float | None = None  # explain only [start_s, end_s) of the video (decoded from a seek; times stay
    end_s: float | None = None    # absolute in every output)


def explain_video(video: str | Path, checkpoint: str | Path, out_dir: str | Path,
                  options: ExplainVideoOptions | None = None) -> dict[str, Any]:
    """Explain who speaks in ``video`` and why; returns the summary written to ``summary.json``."""
    opts = options or ExplainVideoOptions()
    video, out = Path(video), Path(out_dir)
    started = time.perf_counter()
    frames, streams = open_media(video)
    if opts.start_s is not None or opts.end_s is not None:
        frames = FrameRange(frames, opts.start_s, opts.end_s)
    video_id = opts.video_id or video.stem
    model, ckpt = load_model(checkpoint, resolve_device(opts.device))
    prep = model_preprocessing(model)  # the checkpoint's: crops, normalisation, audio features, sample rate
    settings = CropSettings.from_preprocessing(prep.to_dict(), "body" in model.modalities)
    notes: list[str] = []
    clock = _StageClock()
    if opts.audio_file:
        video_audio, streams = streams, _external_audio(Path(opts.audio_file))
        notes.append(f"audio from {opts.audio_file} (the video's own audio track is "
                     f"{'ignored' if video_audio.has_audio else 'absent'})")
    audio16, audio_t0, original_audio, audio_lost_s = _soundtrack(Path(opts.audio_file or video), streams, frames,
                                                                  notes, prep.sample_rate_hz)
    clock.lap("audio")
    if opts.boxes_csv:
        tracks, entity_ids, issues = csv_face_tracks(opts.boxes_csv, video_id, frames.frame_times_s, frames.fps,
                                                     frames.width, frames.height,
                                                     only_inside=isinstance(frames, FrameRange))
        source = {"source": "csv", "file": str(opts.boxes_csv), "issues": issues[:50], "issue_count": len(issues)}
    else:
        tracks, source = detect_face_tracks(frames, detector=opts.detector, detect_every=opts.detect_every,
                                            progress=opts.progress)
        source["source"] = "detector"
        entity_ids = [entity_id_for(video_id, t, frames.frame_times_s) for t in tracks]
    clock.lap("tracks")
    if not tracks:
        notes.append("no face found: nothing to score; the output video shows the input unchanged")
    inputs = collect_inputs(frames, tracks, entity_ids, settings, audio16, audio_t0, progress=opts.progress,
                            sample_rate_hz=prep.sample_rate_hz)
    for t in inputs:  # a checkpoint trained with data.body_hide_face sees (and the sheets show) no head in the body
        if t.body is not None:
            t.body = prep.body_crops(t.body, t.face_boxes, t.body_boxes, (frames.height, frames.width), t.entity_id)
    clock.lap("crops")
    explanations = explain_tracks(
        model, [{"face": t.face, "body": t.body, "audio": t.audio, "timestamps_s": t.timestamps_s, "fps": frames.fps,
                 "entity_id": t.entity_id, "face_boxes": t.face_boxes, "body_boxes": t.body_boxes,
                 "frame_size": (frames.height, frames.width)} for t in inputs],
        workers=_inference_workers(model), threads_per_worker=1 if model.device.type == "cpu" else None,
        chunk_frames=opts.chunk_frames, explainer=build_av_explainer(opts.method, model, opts.maps))
    results = [TrackResult(track, expl.scores, expl.face_maps, expl.body_maps, expl.audio_attention,
                           shown_shares(expl.importance, opts.shares)[1] or None, expl.importance or None)
               for track, expl in zip(inputs, explanations)]
    clock.lap("model")
    out.mkdir(parents=True, exist_ok=True)
    _write_scores(out / "scores.csv", video_id, results, tracks)
    outputs = {"scores_csv": str(out / "scores.csv"), "summary_json": str(out / "summary.json")}
    if opts.render:
        outputs["video"] = str(_render(frames, results, out / f"{video_id}_explained.mp4", video, audio16,
                                       original_audio, notes, opts, prep.sample_rate_hz))
        if explanations:
            outputs["summary_png"] = str(_summary_sheet(out, explanations, inputs))
        clock.lap("render")
    summary = _summary(video, video_id, frames, streams, source, results, notes, outputs, opts,
                       time.perf_counter() - started)
    summary["stage_seconds"] = clock.laps
    summary["stage_cpu_seconds"] = clock.cpu_laps
    summary["audio_lost_s"] = round(audio_lost_s, 6)
    if isinstance(frames, FrameRange):
        summary["time_range_s"] = [round(frames.origin_s, 6),
                                   round(float(frames.frame_times_s[-1]) + 1.0 / frames.fps, 6)]
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    return summary


def open_media(video: Path):
    """(frames reader, stream facts) of ``video``; a missing or unreadable file is a one-line error naming it."""
    if not video.is_file():
        raise FileNotFoundError(f"{video}: video file not found")
    try:
        return open_video(video), probe_streams(video)
    except MediaError as err:
        raise ValueError(str(err)) from None


def _inference_workers(model) -> int:
    """Threads for the model on a CPU: one per torch thread (each running with one torch thread); 1 on a GPU."""
    return torch.get_num_threads() if model.device.type == "cpu" else 1


class _StageClock:
    """Wall time of each pipeline stage (``laps``, reported in summary.json as ``stage_seconds``) and the CPU
    seconds this process spent in it, every thread included (``cpu_laps``, ``stage_cpu_seconds``; used by
    the speed benchmark)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu_laps: dict[str, float] = {}
        self._last = time.perf_counter()
        self._last_cpu = _process_cpu_s()

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), _process_cpu_s()
        self.laps[name] = round(now - self._last, 3)
        self.cpu_laps[name] = round(cpu - self._last_cpu, 3)
        self._last, self._last_cpu = now, cpu


def _process_cpu_s() -> float:
    """User + system CPU seconds of this process, all its threads."""
    times = os.times()
    return times.user + times.system


def _soundtrack(video: Path, streams, frames, notes: list[str], rate_hz: int = SAMPLE_RATE_HZ):
    """(mono float32 at ``rate_hz`` (the checkpoint's sample rate), time of its sample 0, (original-rate
    audio, rate) or None, seconds of audio lost to damaged packets - silence at their place, said in ``notes``).

    The original-rate audio starts at the first frame shown (time 0, or a range's first frame); a range
    decodes its audio from a seek, and its ``rate_hz`` audio starts at the range's first frame too.
    """
    ranged = isinstance(frames, FrameRange)
    origin = frames.origin_s if ranged else 0.0
    end = float(frames.frame_times_s[-1]) + 1.0 / frames.fps
    silence = np.zeros(int((end - origin) * rate_hz) + rate_hz, np.float32), origin, None, 0.0
    if not streams.has_audio:
        notes.append("no audio track: the audio stream was scored as silence")
        return silence
    try:
        decoded = decode_audio_checked(video, origin, end + 1.0, streams.video_start_s, rate_hz, seek=ranged)
        original = decode_audio_checked(video, origin, end + 1.0, streams.video_start_s, streams.audio_rate_hz,
                                        seek=ranged)
    except MediaError as err:
        notes.append(f"audio could not be decoded ({err}); scored as silence")
        return silence
    if decoded.damaged_packets:
        notes.append(f"audio: {decoded.note()}")
    audio16, t0, original = decoded.samples, decoded.t0_s, (original.samples, original.t0_s)
    if ranged:
        audio16, t0 = _starting_at(audio16, t0, origin, rate_hz), origin
    aligned = _starting_at(original[0], original[1], origin, streams.audio_rate_hz)
    return audio16, t0, (aligned, streams.audio_rate_hz), decoded.lost_s


def _external_audio(path: Path) -> StreamInfo:
    """Stream facts of a separate audio file (time 0 of the file = the video's first frame)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: audio file not found")
    try:
        with open_av(path) as container:
            if not container.streams.audio:
                raise ValueError(f"{path}: no audio stream")
            return StreamInfo(0.0, True, container.streams.audio[0].rate)
    except av.FFmpegError as err:
        raise ValueError(f"{path}: cannot open as audio ({err})") from None


def _starting_at(samples: np.ndarray, t0_s: float, origin_s: float, rate_hz: int) -> np.ndarray:
    """``samples`` (sample 0 at ``t0_s``) cut or zero-padded so that sample 0 is at ``origin_s``."""
    shift = int(round((t0_s - origin_s) * rate_hz))
    return np.concatenate([np.zeros(shift, np.float32), samples]) if shift > 0 else samples[-shift:]


def _render(frames, results, path: Path, video: Path, audio16, original_audio, notes, opts,
            rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    timeline = np.arange(len(frames)) / frames.fps
    logmel = audio_features(audio16.astype(np.float32), timeline, frames.fps,
                            AudioFeatureConfig(kind="logmel", sample_rate_hz=rate_hz))
    with open_av(video) as container:
        rate = container.streams.video[0].average_rate or container.streams.video[0].guessed_rate
    fps = Fraction(rate) if rate else Fraction(frames.fps).limit_denominator(1001)
    return render_video(frames, results, path, fps=fps, logmel=logmel, audio=original_audio,
                        origin_s=getattr(frames, "origin_s", 0.0),
                        notice=notes[0] if notes and not results else "", progress=opts.progress,
                        preset=opts.encode_preset, crf=opts.crf)


def _summary_sheet(out: Path, explanations, inputs, max_tracks: int = 6, width: int = 1400) -> Path:
    """One PNG per track in ``tracks/`` (with its JSON) and their first ``max_tracks`` stacked as summary.png.

    The sheets are drawn with OpenCV (``track_sheet``): the same panels as ``explain-track``'s figure at a
    few milliseconds a track instead of ~1 s.
    """
    from ..explain.av_render import safe_name, write_track_json
    from ..explain.render import save_grid
    from .track_sheet import save_track_sheet

    sheets = []
    for expl, track in zip(explanations, inputs):
        name = safe_name(expl.entity_id or "track")
        _, image = save_track_sheet(expl, out / "tracks" / f"{name}.png", face=track.face, body=track.body,
                                    width=width)
        write_track_json(expl, out / "tracks" / f"{name}.json")
        if len(sheets) < max_tracks:
            sheets.append(image)
    height = max(s.shape[0] for s in sheets)
    padded = [np.pad(s, ((0, height - s.shape[0]), (0, 0), (0, 0)), constant_values=255) for s in sheets]
    return save_grid(out / "summary.png", [[p] for p in padded])


def _write_scores(path: Path, video_id: str, results: list[TrackResult], tracks: list) -> None:
    """scores.csv; tracks from an AVA CSV keep the file's timestamps and boxes (official uids and boxes)."""
    rows = []
    for r, track in zip(results, tracks, strict=True):
        t = r.inputs
        times, boxes = track.annotated or (np.round(t.timestamps_s, 6), t.face_boxes)
        rows.append(pd.DataFrame({
            "video_id": video_id, "frame_timestamp": times,
            "entity_box_x1": boxes[:, 0], "entity_box_y1": boxes[:, 1],
            "entity_box_x2": boxes[:, 2], "entity_box_y2": boxes[:, 3],
            "label": "SPEAKING_AUDIBLE", "entity_id": t.entity_id, "score": r.scores,
        }))
    frame = pd.concat(rows) if rows else pd.DataFrame(columns=PREDICTION_COLUMNS)
    write_ava_csv(frame, path, predictions=True)


def speaking_segments(times_s: np.ndarray, scores: np.ndarray, fps: float, threshold: float = 0.5,
                      min_s: float = 0.2) -> list[dict[str, float]]:
    """Runs of frames with score >= threshold lasting at least ``min_s``: start/end (s) and mean score."""
    above = np.concatenate([[False], scores >= threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    segments = []
    for start, stop in zip(edges[::2], edges[1::2]):
        begin, end = float(times_s[start]), float(times_s[stop - 1]) + 1.0 / fps
        if end - begin >= min_s:
            segments.append({"start_s": round(begin, 3), "end_s": round(end, 3),
                             "mean_score": round(float(scores[start:stop].mean()), 4)})
    return segments


def _summary(video, video_id, frames, streams, source, results, notes, outputs, opts, seconds) -> dict[str, Any]:
    covered = np.zeros(len(frames), bool)
    tracks = []
    for r in results:
        covered[r.inputs.frames] = True
        shares = {m: round(float(v.mean()), 4) for m, v in (r.shares or {}).items()}
        share_kind = shown_shares(r.importance or {}, opts.shares)[0]
        tracks.append({
            "entity_id": r.inputs.entity_id, "start_s": round(float(r.inputs.timestamps_s[0]), 3),
            "end_s": round(float(r.inputs.timestamps_s[-1]), 3), "frames": int(len(r.scores)),
            "mean_score": round(float(r.scores.mean()), 4),
            "speaking_segments": speaking_segments(r.inputs.timestamps_s, r.scores, frames.fps),
            "shares_kind": share_kind, "modality_shares": shares, "shares_move": shares_move(r.shares or {}),
            "modality_importance": {kind: {m: round(v, 4) for m, v in values.items()}
                                    for kind, values in track_importance(r.importance or {}).items()},
        })
    duration = float(len(frames) / frames.fps)
    return {
        "video": str(video), "video_id": video_id, "fps": frames.fps, "frames": len(frames),
        "width": frames.width, "height": frames.height, "duration_s": round(duration, 3),
        "has_audio": streams.has_audio, "faces_found": len(results) > 0,
        "frames_with_a_track": int(covered.sum()), "tracks": tracks, "track_source": source, "notes": notes,
        "settings": {"method": opts.method, **opts.maps.to_dict(), "encode_preset": opts.encode_preset,
                     "crf": opts.crf},
        "outputs": outputs, "seconds": round(seconds, 2), "real_time_factor": round(duration / max(seconds, 1e-9), 3),
    }
