"""Preparing one video: decode its frames once and its audio once, crop every row, write finished tracks.

Frames are decoded in time order (see :mod:`asd_explain.media.frames`; only the needed frames are converted
to RGB) in a background thread while this one crops and encodes; a track is written as soon as its last
frame has been cropped, so memory holds only the tracks that are
open at the current time. A resumed run decodes only the frames of tracks not yet finished.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.data.ava_csv import RowIssue, VideoAnnotations
from asd_explain.data.image_codec import encode_image
from asd_explain.data.store import StoreError
from asd_explain.data.store_writer import VideoWriter
from asd_explain.media.crops import FrameCrops
from asd_explain.media.decode import MediaError, decode_audio_checked, nearest_frames, probe_streams
from asd_explain.media.frames import open_video, prefetch
from asd_explain.pretrained_inputs.ava_crop import authors_ava_crop

from .settings import PrepSettings
from .track_record import TrackBuffer, track_arrays, track_header

AUDIO_MARGIN_S = 1.0
AUDIO_TOLERANCE_S = 0.25


@dataclass
class VideoJob:
    """Everything a worker needs for one video (picklable). ``body_boxes (n, 4)`` rows for body_source csv."""

    store: Path
    video_id: str
    video_path: Path | None
    rows: VideoAnnotations
    settings: PrepSettings
    body_boxes: np.ndarray | None = None
    category: str | None = None
    decode_threads: int = 0
    fsync: bool = False


@dataclass
class VideoResult:
    video_id: str
    rows_in: int
    rows_stored: int = 0
    tracks_stored: int = 0
    tracks_written: int = 0
    skipped: list[RowIssue] = field(default_factory=list)
    usable: bool = True
    video_seconds: float = 0.0
    media_issues: list[RowIssue] = field(default_factory=list)  # file-level: damaged audio packets (row 0)


def _issues(rows: VideoAnnotations, indices, kind: str, reason: str | Callable[[int], str]) -> list[RowIssue]:
    out = []
    for i in np.asarray(indices, dtype=np.int64).tolist():
        file, line = rows.source(i)
        out.append(RowIssue(file, line, reason(i) if callable(reason) else reason, kind))
    return out


def prepare_video(job: VideoJob, on_rows: Callable[[int], None] | None = None) -> VideoResult:
    """Prepare one video into the store; never raises for bad media (the rows are reported instead)."""
    result = VideoResult(job.video_id, rows_in=len(job.rows))
    if job.video_path is None:
        result.usable = False
        result.skipped = _issues(job.rows, range(len(job.rows)), "missing_video",
                                 f"video {job.video_id!r} not found in the videos folder")
        return result
    try:
        with VideoWriter(job.store, job.video_id, fsync=job.fsync) as writer:
            tracks = job.rows.tracks()
            writer.adopt_finished(tracks)
            if writer.complete:
                _count_finished(writer, tracks, result)
                result.media_issues += _stored_damage(writer, job.video_path)
                result.skipped += [RowIssue(*s) for s in writer.index["skipped"]]
                return result
            try:
                _VideoPass(job, writer, result, on_rows).run(tracks)
            except MediaError as err:  # raised before any frame is decoded (open, probe, audio)
                result.rows_stored = result.tracks_stored = 0
                result.skipped = []
                _count_finished(writer, tracks, result)
                done = writer.finished_entities
                rest = [i for e, rows in tracks.items() if e not in done for i in rows.tolist()]
                result.usable = False
                result.skipped += _issues(job.rows, sorted(rest), err.kind, str(err))
    except StoreError as err:
        result.usable = False
        result.skipped = _issues(job.rows, range(len(job.rows)), "store_busy", str(err))
    return result


def _stored_damage(writer: VideoWriter, video_path: Path) -> list[RowIssue]:
    damage = writer.index.get("audio_damage")
    if not damage:
        return []
    return [RowIssue(str(video_path), 0, f"{damage['damaged_packets']} damaged audio packet(s) skipped: "
                                         f"{damage['lost_s']:.3f} s of audio lost, filled with silence at their time",
                     "damaged_audio")]


def _count_finished(writer: VideoWriter, tracks: dict[str, np.ndarray], result: VideoResult) -> None:
    for entity_id in tracks:
        entry = writer.index["tracks"].get(entity_id)
        if entry is not None:
            result.rows_stored += entry["n_frames"]
            result.tracks_stored += 1
            result.skipped += [RowIssue(*s) for s in entry.get("skipped", [])]


AVA_SEGMENT_START_S = 900.0


def precut_hint(timestamps_s: np.ndarray, end_s: float, offset_s: float) -> str:
    """'; ...' advice when every row lies past the video's end in a way that says the video was pre-cut."""
    first, last = float(timestamps_s.min()), float(timestamps_s.max())
    duration = end_s - offset_s
    if first <= end_s:
        return ""
    if offset_s == 0 and first >= AVA_SEGMENT_START_S - 1 and last <= AVA_SEGMENT_START_S + duration + 1:
        return ("; videos look cut to the 900-1800 s segment (every labelled time lies within the video's "
                f"duration {duration:.1f} s after 900 s); rerun with --time-offset 900")
    if last - first <= duration + 1:
        guess = np.floor(first - offset_s) + offset_s if offset_s else np.floor(first)
        return (f"; the labelled times ({first:.1f}-{last:.1f} s) fit the video's {duration:.1f} s if it starts "
                f"at about {guess:.0f} s of the source: rerun with --time-offset {guess:.0f}")
    return ""


class _VideoPass:
    """One decoding pass over a video for its unfinished tracks."""

    def __init__(self, job: VideoJob, writer: VideoWriter, result: VideoResult, on_rows) -> None:
        self.job, self.writer, self.result, self.on_rows = job, writer, result, on_rows
        self.settings: PrepSettings = job.settings
        self.rows = job.rows

    def run(self, tracks: dict[str, np.ndarray]) -> None:
        info = probe_streams(self.job.video_path)
        if not info.has_audio:
            raise MediaError("no_audio", f"{self.job.video_path}: video has no audio track")
        self.frames = open_video(self.job.video_path, self.settings.decoder, threads=self.job.decode_threads)
        fps = self.frames.fps
        offset = self.settings.time_offset_s
        self.times_s = self.frames.frame_times_s + offset  # frame times on the annotation's timeline
        ts = self.rows.timestamps_s
        self.frame_of_row, inside = nearest_frames(self.times_s, ts, fps)
        valid = inside.copy()
        hint = precut_hint(ts, float(self.times_s[-1]) + 1.0 / fps, offset) if not inside.any() else ""
        video_skips = _issues(self.rows, np.flatnonzero(~inside), "past_video_end",
                              lambda i: f"timestamp {ts[i]} s is outside the video "
                                        f"(frames {self.times_s[0]:.3f}-{self.times_s[-1]:.3f} s){hint}")
        if valid.any():
            video_skips += self._load_audio(info.video_start_s - offset, valid)
        self.result.video_seconds = float(ts[valid].max() - ts[valid].min() + 1 / fps) if valid.any() else 0.0
        self.body_boxes = self._body_boxes()
        kept = {e: rows[valid[rows]] for e, rows in tracks.items()}
        _count_finished(self.writer, kept, self.result)
        pending = {e: rows for e, rows in kept.items() if len(rows) and e not in self.writer.finished_entities}
        empty_track_skips = self._decode_and_write(pending)
        self.result.skipped += video_skips + empty_track_skips
        self.writer.finish(self.result.rows_in, [(i.file, i.row, i.reason, i.kind)
                                                 for i in video_skips + empty_track_skips])

    def _load_audio(self, video_start_s: float, valid: np.ndarray) -> list[RowIssue]:
        """Decode the audio of the whole annotated span once; rows whose frame has no audio are skipped."""
        ts = self.rows.timestamps_s
        half = 0.5 / self.frames.fps
        start, end = ts[valid].min() - AUDIO_MARGIN_S, ts[valid].max() + AUDIO_MARGIN_S
        decoded = decode_audio_checked(self.job.video_path, start, end, video_start_s)
        self.audio, self.audio_t0_s = decoded.samples, decoded.t0_s
        if decoded.damaged_packets:
            self.writer.index["audio_damage"] = {"damaged_packets": decoded.damaged_packets,
                                                 "lost_s": round(decoded.lost_s, 6)}
            self.result.media_issues.append(RowIssue(str(self.job.video_path), 0, decoded.note(), "damaged_audio"))
        audio_end = self.audio_t0_s + len(self.audio) / SAMPLE_RATE_HZ
        covered = (ts - half >= self.audio_t0_s - AUDIO_TOLERANCE_S) & (ts + half <= audio_end + AUDIO_TOLERANCE_S)
        bad = np.flatnonzero(valid & ~covered)
        valid &= covered
        return _issues(self.rows, bad, "no_audio_at_time",
                       lambda i: f"no audio at {ts[i]} s (audio covers {self.audio_t0_s:.3f}-{audio_end:.3f} s)")

    def _body_boxes(self) -> np.ndarray | None:
        source = self.settings.body_source
        if source == "derived":
            return self.settings.body_from_face.boxes(self.rows.boxes)
        if source == "csv":
            if self.job.body_boxes is None:
                raise ValueError(f"{self.job.video_id}: body_source csv but no body boxes given")
            return self.job.body_boxes
        return None

    def _decode_and_write(self, pending: dict[str, np.ndarray]) -> list[RowIssue]:
        """Crop every pending row from frames decoded in time order; write each track when complete."""
        users: dict[int, list[tuple[str, int]]] = {}
        for entity, rows in pending.items():
            for pos, frame in enumerate(self.frame_of_row[rows].tolist()):
                users.setdefault(frame, []).append((entity, pos))
        needed = np.array(sorted(users), dtype=np.int64)
        last_frame = {e: int(self.frame_of_row[rows].max()) for e, rows in pending.items()}
        closing = sorted(pending, key=lambda e: (last_frame[e], e))
        buffers = {e: TrackBuffer(len(rows)) for e, rows in pending.items()}
        skips: list[RowIssue] = []
        next_close, done_rows = 0, 0
        for frame_index, frame in self._frames(needed):
            crops = None if frame is None else FrameCrops(frame, self.settings.resize)
            for entity, pos in users[frame_index]:
                self._crop(buffers[entity], pending[entity][pos], pos, crops)
            while next_close < len(closing) and last_frame[closing[next_close]] <= frame_index:
                entity = closing[next_close]
                skips += self._write(entity, pending[entity], buffers.pop(entity))
                next_close += 1
            done_rows += len(users[frame_index])
            if self.on_rows is not None and (done_rows >= 256 or next_close == len(closing)):
                self.on_rows(done_rows)
                done_rows = 0
        return skips

    def _frames(self, needed: np.ndarray):
        """(index, frame or None) for every needed index, even when the decoder gives up half-way."""
        delivered = -1
        try:
            for index, frame in prefetch(self.frames.iter_frames(needed)):
                delivered = index
                yield index, frame
        except MediaError:
            for index in needed[needed > delivered].tolist():
                yield index, None

    def _crop(self, buffer: TrackBuffer, row: int, pos: int, crops: FrameCrops | None) -> None:
        if crops is None:
            buffer.ok[pos] = False
            return
        s = self.settings
        face = (authors_ava_crop(crops.frame, self.rows.boxes[row], s.face_size) if s.face_crop == "authors"
                else crops.crop(self.rows.boxes[row], s.face_size, s.face_colour))
        buffer.face[pos] = encode_image(face, s.image_codec, s.jpeg_quality)
        if self.body_boxes is not None:
            buffer.body[pos] = encode_image(crops.crop(self.body_boxes[row], s.body_size, s.body_colour),
                                            s.image_codec, s.jpeg_quality)

    def _write(self, entity: str, rows: np.ndarray, buffer: TrackBuffer) -> list[RowIssue]:
        """Write one finished track; returns the issues of its rows that have no frame (empty track only)."""
        bad = rows[~buffer.ok]
        issues = _issues(self.rows, bad, "frame_decode_error",
                         lambda i: f"frame {int(self.frame_of_row[i])} of {self.job.video_path.name} "
                                   f"cannot be decoded")
        keep = rows[buffer.ok]
        if len(keep) == 0:
            return issues
        self.result.skipped += issues
        header = track_header(self, entity, keep, issues)
        self.writer.write_track(header, track_arrays(self, keep, buffer))
        self.result.rows_stored += len(keep)
        self.result.tracks_stored += 1
        self.result.tracks_written += 1
        return []
