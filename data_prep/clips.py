"""``asd-prep import-clips``: a track store from the clip folders of the field's reference preparation.

Most AVA / WASD users already hold what the TalkNet / Light-ASD / WASD ``create_dataset.py`` preparation
writes (the layout, not their code):

  <clips>/clips_videos/<split>/<video_id>/<entity_id>/<timestamp %.2f>.jpg       face crops: the annotated
        box window ``frame[int(y1 H):int(y2 H), int(x1 W):int(x2 W)]`` at its native size, BGR JPEG
  <clips>/clips_videos_body/<split>/<video_id>/<entity_id>/<timestamp %.2f>.jpg  WASD body crops, the same
  <clips>/clips_audios/<split>/<video_id>/<entity_id>.wav                          16 kHz mono int16,
        samples ``[int(t_first * 16000), int(t_last * 16000))`` of the video's soundtrack

plus the annotation CSVs (labels, boxes, timestamps: the same files ``asd-prep ava|wasd`` reads).
``import_clips`` builds the same store format as ``prepare_store``: every crop is converted to the store's
colour and resized to its size with the same OpenCV resize, the wav becomes the track's audio (sample 0 at
``timestamps_s[0] - 0.5 / fps``: the half frame before the first timestamp and the last frame's span, which
the reference clips do not hold, are silent), rows whose JPEG is missing or unreadable are reported and
skipped, a track without its wav is skipped; resume and report work as in ``prepare_store`` (finished
videos skipped, finished tracks never rewritten, ``reports/`` written). The reference layout does not
record the frame rate: it is ``fps`` when given, else 1 / the median step between a video's timestamps.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.io import wavfile
from tqdm import tqdm

from asd_explain import __version__
from asd_explain.data.ava_csv import RowIssue, VideoAnnotations
from asd_explain.data.store import SAMPLE_RATE_HZ, StoreError, Track
from asd_explain.data.store_writer import VideoWriter, open_store_for_writing, track_record
from asd_explain.media.crops import _resize
from asd_explain.media.decode import track_audio

from .categories import Categories
from .prepare import add_result, load_rows
from .report import PrepReport
from .settings import PrepSettings
from .video_job import VideoResult, _count_finished, _issues

FACE_DIR, BODY_DIR, AUDIO_DIR = "clips_videos", "clips_videos_body", "clips_audios"


@dataclass(frozen=True)
class ClipFolders:
    """The three folders of one split (``body`` None when the store has no CSV body stream)."""

    face: Path
    audio: Path
    body: Path | None = None

    @classmethod
    def under(cls, root: str | os.PathLike, split: str | None, body: bool) -> ClipFolders:
        root = Path(root)
        part = (lambda name: root / name / split) if split else (lambda name: root / name)
        folders = cls(part(FACE_DIR), part(AUDIO_DIR), part(BODY_DIR) if body else None)
        for folder in (folders.face, folders.audio, folders.body):
            if folder is not None and not folder.is_dir():
                raise FileNotFoundError(f"{folder}: clip folder not found (expected the reference layout "
                                        f"{FACE_DIR}/, {AUDIO_DIR}/{' and ' + BODY_DIR + '/' if body else ''} "
                                        f"with a <split> level)")
        return folders


def import_clips(dataset: str, clips: str | os.PathLike, annotations: str | os.PathLike,
                 out: str | os.PathLike, *, split: str | None = None, settings: PrepSettings | None = None,
                 body_annotations: str | os.PathLike | None = None, categories: Categories | None = None,
                 fps: float | None = None, shard: tuple[int, int] = (0, 1), fsync: bool = False,
                 progress: bool = True) -> PrepReport:
    """Import (or resume importing) the reference clips of one shard into the store at ``out``."""
    started = time.perf_counter()
    settings = settings or PrepSettings(body_source="none")
    if settings.body_source == "derived":
        raise ValueError("import-clips has no video frames to derive body crops from: use body 'csv' (WASD "
                         "body clips) or 'none'")
    folders = ClipFolders.under(clips, split, settings.body_source == "csv")
    faces, bodies, report = load_rows(dataset, annotations, split, settings, body_annotations, shard)
    manifest = {"dataset": dataset, "split": split, "settings": settings.manifest_settings(),
                "created_by": f"asd-prep {__version__}", "documentation": "docs/prepare.md",
                "source": "reference clip folders (import-clips)"}
    root = open_store_for_writing(out, manifest)
    categories = categories or Categories()
    videos = [v for v in sorted(faces.videos) if len(faces.videos[v])]
    with tqdm(total=sum(len(faces.videos[v]) for v in videos), unit="row", desc="import-clips",
              disable=not progress) as bar:
        for video_id in videos:
            rows = faces.videos[video_id]
            job = _ClipVideo(root, video_id, rows, folders, settings, None if bodies is None else bodies[video_id],
                             categories.of(video_id), fps, fsync)
            add_result(report, job.run())
            bar.update(len(rows))
    report.skipped.sort(key=lambda issue: (issue.file, issue.row))
    report.seconds = time.perf_counter() - started
    report.write(root)
    return report


def estimated_fps(rows: VideoAnnotations) -> float:
    """1 / the median step between consecutive timestamps of the video's tracks."""
    steps = [np.diff(rows.timestamps_s[order]) for order in rows.tracks().values() if len(order) > 1]
    steps = np.concatenate(steps) if steps else np.zeros(0)
    steps = steps[steps > 1e-6]
    return float(1.0 / np.median(steps)) if len(steps) else 25.0


@dataclass
class _ClipVideo:
    store: Path
    video_id: str
    rows: VideoAnnotations
    folders: ClipFolders
    settings: PrepSettings
    body_boxes: np.ndarray | None
    category: str | None
    fps: float | None
    fsync: bool
    written: int = 0

    def run(self) -> VideoResult:
        result = VideoResult(self.video_id, rows_in=len(self.rows))
        if not (self.folders.face / self.video_id).is_dir():
            result.usable = False
            result.skipped = _issues(self.rows, range(len(self.rows)), "missing_video",
                                     f"no clip folder {self.folders.face / self.video_id}")
            return result
        fps = self.fps or estimated_fps(self.rows)
        try:
            with VideoWriter(self.store, self.video_id, fsync=self.fsync) as writer:
                tracks = self.rows.tracks()
                writer.adopt_finished(tracks)
                skips: list[RowIssue] = []
                if not writer.complete:
                    for entity, order in tracks.items():
                        if entity not in writer.finished_entities:
                            skips += self._track(writer, entity, order, fps)
                    writer.finish(len(self.rows), [(i.file, i.row, i.reason, i.kind) for i in skips])
                _count_finished(writer, tracks, result)
                result.skipped += [RowIssue(*skip) for skip in writer.index["skipped"]]
                result.tracks_written = self.written
        except StoreError as err:
            result.usable = False
            result.skipped = _issues(self.rows, range(len(self.rows)), "store_busy", str(err))
        return result

    def _track(self, writer: VideoWriter, entity: str, order: np.ndarray, fps: float) -> list[RowIssue]:
        """Write one track from its clips; returns the issues of rows left out when no track is written."""
        wav = self.folders.audio / self.video_id / f"{entity}.wav"
        audio = _read_wav(wav)
        if audio is None:
            return _issues(self.rows, order, "missing_clip_audio", f"{wav} missing or not 16 kHz mono audio")
        ts = self.rows.timestamps_s[order]
        face = self._crops(self.folders.face, entity, ts, self.settings.face_size, self.settings.face_colour)
        body = None
        if self.folders.body is not None:
            body = self._crops(self.folders.body, entity, ts, self.settings.body_size, self.settings.body_colour)
        ok = np.array([f is not None and (body is None or body[i] is not None) for i, f in enumerate(face)])
        missing = _issues(self.rows, order[~ok], "missing_clip_image",
                          lambda i: f"no readable crop {self.video_id}/{entity}/{self.rows.timestamps_s[i]:.2f}.jpg")
        if not ok.any():
            return missing
        keep = order[ok]
        track = Track(
            entity_id=entity, video_id=self.video_id, fps=fps, timestamps_s=ts[ok],
            labels=self.rows.labels[keep], face=np.stack([face[i] for i in np.flatnonzero(ok)]),
            body=None if body is None else np.stack([body[i] for i in np.flatnonzero(ok)]),
            face_boxes=self.rows.boxes[keep], body_boxes=None if body is None else self.body_boxes[keep],
            audio=track_audio(audio, float(ts[0]), ts[ok], fps), category=self.category,
            source_lines=self.rows.lines[keep],
            source_files=tuple(sorted({Path(self.rows.file_names[int(i)]).name for i in self.rows.file_index[keep]})),
        )
        header, arrays = track_record(track, codec=self.settings.image_codec, jpeg_quality=self.settings.jpeg_quality,
                                      extra_header=self._header(missing))
        writer.write_track(header, arrays)
        self.written += 1
        return []

    def _crops(self, folder: Path, entity: str, ts: np.ndarray, size: tuple[int, int],
               colour: str) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for t in ts.tolist():
            image = cv2.imread(str(folder / self.video_id / entity / f"{t:.2f}.jpg"), cv2.IMREAD_COLOR)
            if image is None or image.size == 0:
                out.append(None)
                continue
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if colour == "gray" else cv2.COLOR_BGR2RGB)
            out.append(_resize(image, size, self.settings.resize))
        return out

    def _header(self, missing: list[RowIssue]) -> dict:
        return {"video_file": None, "frame_size": None, "body_source": self.settings.body_source,
                "audio_alignment": "audio[0] at timestamps_s[0] - 0.5 / fps",
                "imported_from": "reference clip folders",
                "skipped_rows": [[Path(i.file).name, i.row, i.reason, i.kind] for i in missing]}


def _read_wav(path: Path) -> np.ndarray | None:
    """The wav as float32 in [-1, 1] (int16 / 32767, so the store's int16 is the file's), or None."""
    try:
        rate, data = wavfile.read(path)
    except (OSError, ValueError):
        return None
    if rate != SAMPLE_RATE_HZ or data.ndim != 1:
        return None
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32767.0
    return data.astype(np.float32)
