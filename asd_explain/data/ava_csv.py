"""Readers and validators for every AVA-ActiveSpeaker / WASD annotation CSV variant.

Variants accepted (REFERENCE sections 2-3):

* official AVA per-video files ``<video_id>-activespeaker.csv``: no header, 8 columns
  ``video_id, frame_timestamp, entity_box_x1, entity_box_y1, entity_box_x2, entity_box_y2, label, entity_id``;
* merged files (``train_orig.csv``, ``val_orig.csv``, WASD's ``*_orig_body.csv``) with a header line and the
  extra columns ``label_id`` and ``instance_id`` (any further extra columns are ignored);
* headerless files with 10 columns (the merged layout without its header line).

Every row that cannot be used becomes a :class:`RowIssue` ``(file, row, reason)`` where ``row`` is the
1-based line number in the file (the header is line 1), and the rest of the file is still read.
Valid rows are gathered per video into column arrays (:class:`VideoAnnotations`), so the 3.6 M rows of
AVA train fit in a few hundred MB.
"""
from __future__ import annotations

import array
import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LABEL_IDS = {"NOT_SPEAKING": 0, "SPEAKING_AUDIBLE": 1, "SPEAKING_NOT_AUDIBLE": 2}
LABEL_NAMES = {v: k for k, v in LABEL_IDS.items()}
REQUIRED_COLUMNS = (
    "video_id", "frame_timestamp", "entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2",
    "label", "entity_id",
)
OPTIONAL_COLUMNS = ("label_id", "instance_id")
PER_VIDEO_SUFFIX = "-activespeaker.csv"


@dataclass(frozen=True)
class RowIssue:
    """One skipped row: ``file``, 1-based ``row`` (line; 0 = the whole file), ``reason``, and ``kind``, a
    short code for counting reasons (``unknown_label``, ``bad_box``, ``missing_video``, ...)."""

    file: str
    row: int
    reason: str
    kind: str = "other"

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.reason}"


def unsafe_video_id_reason(video_id: str) -> str | None:
    """Why ``video_id`` cannot name a file inside the videos folder (None when it is safe)."""
    if not video_id:
        return "empty video_id"
    if "/" in video_id or "\\" in video_id or os.sep in video_id or (os.altsep and os.altsep in video_id):
        return f"video_id {video_id!r} contains a path separator"
    if ".." in video_id:
        return f"video_id {video_id!r} contains '..'"
    if video_id.startswith(".") or "\x00" in video_id:
        return f"video_id {video_id!r} is not a plain file name"
    return None


@dataclass
class VideoAnnotations:
    """The valid rows of one video, as columns (n rows).

    ``timestamps_s (n,) float64``, ``boxes (n, 4) float64`` normalised x1, y1, x2, y2, ``labels (n,) int8``
    (0 NOT_SPEAKING, 1 SPEAKING_AUDIBLE, 2 SPEAKING_NOT_AUDIBLE), ``entity_ids`` (n str),
    ``files`` (source CSV of each row, as an index into ``file_names``) and ``lines (n,)`` 1-based lines.
    """

    video_id: str
    timestamps_s: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    entity_ids: list[str]
    file_index: np.ndarray
    lines: np.ndarray
    file_names: list[str]

    def __len__(self) -> int:
        return len(self.entity_ids)

    def source(self, i: int) -> tuple[str, int]:
        """(file, line) of row ``i``."""
        return self.file_names[int(self.file_index[i])], int(self.lines[i])

    def subset(self, keep: np.ndarray) -> VideoAnnotations:
        """The rows where ``keep (n,) bool`` is True, in the same order."""
        idx = np.flatnonzero(keep)
        return VideoAnnotations(
            self.video_id, self.timestamps_s[idx], self.boxes[idx], self.labels[idx],
            [self.entity_ids[i] for i in idx.tolist()], self.file_index[idx], self.lines[idx], self.file_names,
        )

    def tracks(self) -> dict[str, np.ndarray]:
        """entity_id -> row indices sorted by timestamp (stable), entity ids in first-seen order."""
        groups: dict[str, list[int]] = {}
        for i, entity in enumerate(self.entity_ids):
            groups.setdefault(entity, []).append(i)
        out = {}
        for entity, idx in groups.items():
            rows = np.asarray(idx, dtype=np.int64)
            out[entity] = rows[np.argsort(self.timestamps_s[rows], kind="stable")]
        return out


@dataclass
class _VideoColumns:
    timestamps: array.array = field(default_factory=lambda: array.array("d"))
    boxes: array.array = field(default_factory=lambda: array.array("d"))
    labels: array.array = field(default_factory=lambda: array.array("b"))
    entities: list = field(default_factory=list)
    files: array.array = field(default_factory=lambda: array.array("i"))
    lines: array.array = field(default_factory=lambda: array.array("q"))


@dataclass
class AnnotationSet:
    """All rows read from one or more CSV files: valid rows per video and the issues of the rest."""

    videos: dict[str, VideoAnnotations]
    issues: list[RowIssue]
    files: list[str]
    rows_read: int
    video_of_issue: list[str | None]

    @property
    def rows_valid(self) -> int:
        return sum(len(v) for v in self.videos.values())


class _Collector:
    """Accumulates valid rows per video, rejecting duplicates (same video, entity, timestamp)."""

    def __init__(self) -> None:
        self.columns: dict[str, _VideoColumns] = {}
        self.seen: dict[tuple[str, str, float], tuple[str, int]] = {}
        self.issues: list[RowIssue] = []
        self.issue_videos: list[str | None] = []
        self.file_names: list[str] = []
        self.rows_read = 0

    def reject(self, file: str, line: int, kind: str, reason: str, video_id: str | None) -> None:
        self.issues.append(RowIssue(file, line, reason, kind))
        self.issue_videos.append(video_id)

    def accept(self, file_idx: int, line: int, video_id: str, ts: float, box, label: int, entity: str) -> None:
        key = (video_id, entity, ts)
        first = self.seen.get(key)
        file = self.file_names[file_idx]
        if first is not None:
            self.reject(file, line, "duplicate_row", f"duplicate row (same video, entity and timestamp as "
                                    f"{first[0]}:{first[1]})", video_id)
            return
        self.seen[key] = (file, line)
        cols = self.columns.get(video_id)
        if cols is None:
            cols = self.columns[video_id] = _VideoColumns()
        cols.timestamps.append(ts)
        cols.boxes.extend(box)
        cols.labels.append(label)
        cols.entities.append(entity)
        cols.files.append(file_idx)
        cols.lines.append(line)

    def finish(self) -> AnnotationSet:
        videos = {}
        for video_id, c in self.columns.items():
            videos[video_id] = VideoAnnotations(
                video_id=video_id,
                timestamps_s=np.frombuffer(c.timestamps, dtype=np.float64).copy(),
                boxes=np.frombuffer(c.boxes, dtype=np.float64).reshape(-1, 4).copy(),
                labels=np.frombuffer(c.labels, dtype=np.int8).copy(),
                entity_ids=c.entities,
                file_index=np.frombuffer(c.files, dtype=np.int32).copy(),
                lines=np.frombuffer(c.lines, dtype=np.int64).copy(),
                file_names=self.file_names,
            )
        return AnnotationSet(videos, self.issues, list(self.file_names), self.rows_read, self.issue_videos)


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row_problem(fields: dict[str, str]) -> tuple[str, str] | tuple[None, tuple]:
    """(kind, reason) for a bad row, (None, parsed) for a good one; parsed = (video, ts, box, label, entity)."""
    video_id = fields["video_id"].strip()
    reason = unsafe_video_id_reason(video_id)
    if reason:
        return "unsafe_video_id", reason
    ts = _parse_float(fields["frame_timestamp"])
    if ts is None:
        return "bad_timestamp", f"non-numeric frame_timestamp {fields['frame_timestamp']!r}"
    if ts < 0:
        return "bad_timestamp", f"negative frame_timestamp {ts}"
    box = []
    for name in REQUIRED_COLUMNS[2:6]:
        value = _parse_float(fields[name])
        if value is None:
            return "bad_box", f"non-numeric {name} {fields[name]!r}"
        box.append(value)
    if min(box) < 0.0 or max(box) > 1.0:
        return "bad_box", f"box {box} outside [0, 1]"
    if box[2] <= box[0] or box[3] <= box[1]:
        return "bad_box", f"empty or inverted box {box} (needs x2 > x1 and y2 > y1)"
    label_text = fields["label"].strip()
    label = LABEL_IDS.get(label_text)
    if label is None:
        return "unknown_label", f"unknown label {label_text!r} (expected one of {', '.join(LABEL_IDS)})"
    label_id = (fields.get("label_id") or "").strip()
    if label_id and label_id != str(label):
        return "label_mismatch", f"label_id {label_id!r} does not match label {label_text}"
    entity = fields["entity_id"].strip()
    if not entity:
        return "empty_entity_id", "empty entity_id"
    return None, (video_id, ts, box, label, entity)


def _looks_like_header(row: list[str]) -> bool:
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    return len(row) > 1 and _parse_float(row[1]) is None and any(c.strip() in known for c in row)


def _read_one(path: Path, collector: _Collector, video_filter) -> None:
    if video_filter is not None and path.name.endswith(PER_VIDEO_SUFFIX):
        if not video_filter(path.name[: -len(PER_VIDEO_SUFFIX)]):
            return
    file = str(path)
    collector.file_names.append(file)
    file_idx = len(collector.file_names) - 1
    try:
        handle = open(path, newline="", encoding="utf-8", errors="replace")
    except OSError as err:
        collector.reject(file, 0, "unreadable_file", f"cannot read annotation file ({err.strerror})", None)
        return
    with handle:
        reader = csv.reader(handle)
        columns: list[str] | None = None
        missing_header_reason = None
        try:
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if columns is None and line == 1 and _looks_like_header(row):
                    columns = [c.strip() for c in row]
                    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
                    if missing:
                        missing_header_reason = f"missing column {missing[0]!r} (header of {path.name})"
                    continue
                _read_row(row, line, columns, missing_header_reason, file_idx, collector, video_filter)
        except csv.Error as err:
            collector.reject(file, reader.line_num, "unreadable_file", f"CSV error, rest of file not read: {err}",
                             None)


def _read_row(row, line, columns, missing_header_reason, file_idx, collector, video_filter) -> None:
    file = collector.file_names[file_idx]
    raw_video = row[0].strip() if row else None
    if video_filter is not None and raw_video is not None and not video_filter(raw_video):
        return
    collector.rows_read += 1
    if missing_header_reason:
        collector.reject(file, line, "missing_column", missing_header_reason, raw_video)
        return
    if columns is None:
        if len(row) not in (8, 10):
            kind = "missing_column" if len(row) < 8 else "extra_column"
            collector.reject(file, line, kind, f"{kind.replace('_', ' ')}: {len(row)} fields (expected 8 or 10)",
                             raw_video)
            return
        names = REQUIRED_COLUMNS + (OPTIONAL_COLUMNS if len(row) == 10 else ())
    else:
        if len(row) < len(columns):
            collector.reject(file, line, "missing_column",
                             f"missing column: {len(row)} fields, header has {len(columns)}", raw_video)
            return
        names = columns
    fields = dict(zip(names, row, strict=False))
    kind, parsed = _row_problem(fields)
    if kind is not None:
        collector.reject(file, line, kind, parsed, raw_video)
        return
    collector.accept(file_idx, line, *parsed)


BODY_SUFFIXES = ("_orig_body.csv", "_body_orig.csv", "_body.csv")  # WASD's two body names, and any *_body.csv


def is_body_csv(path: Path) -> bool:
    return path.name.endswith(BODY_SUFFIXES)


def is_loader_csv(path: Path) -> bool:
    """TalkNet-style ``*_loader.csv`` entity lists: not annotation rows."""
    return path.stem.endswith("_loader") or "_loader_" in path.stem


SPLIT_NAMES = ("train", "val", "test", "trainval")


def _other_split(path: Path, split: str | None) -> bool:
    prefix = path.name.split("_")[0]
    return split is not None and prefix in SPLIT_NAMES and prefix != split


def annotation_files(path: str | os.PathLike, split: str | None = None, *, body: bool = False) -> list[Path]:
    """The CSV files that ``path`` stands for.

    A file is itself. In a folder, for face rows: ``<split>_orig.csv`` when it exists, else every
    ``*-activespeaker.csv`` below it (sorted), else every ``*.csv`` directly in it that is neither a body
    file nor a ``*_loader.csv`` (with ``split``: not the files named for another split, ``train_*`` etc.).
    For body rows (``body=True``):
    ``<split>_orig_body.csv`` or ``<split>_body_orig.csv`` (WASD ships both names) when one exists, else every
    body file (``*_orig_body.csv``, ``*_body_orig.csv``, ``*_body.csv``; with ``split``: of that split).
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: annotation file or folder not found")
    names = [f"{split}{s}" for s in BODY_SUFFIXES[:2]] if body else [f"{split}_orig.csv"]
    for name in names if split is not None else ():
        if (path / name).is_file():
            return [path / name]
    candidates = [p for p in sorted(path.glob("*.csv")) if not is_loader_csv(p) and not _other_split(p, split)]
    if body:
        found = [p for p in candidates if is_body_csv(p)]
    else:
        found = sorted(path.rglob(f"*{PER_VIDEO_SUFFIX}")) or [p for p in candidates if not is_body_csv(p)]
    if not found:
        what = "body annotation CSV files (<split>_orig_body.csv or <split>_body_orig.csv)" if body else \
            "annotation CSV files"
        raise FileNotFoundError(f"{path}: no {what} found{f' for split {split!r}' if split else ''}")
    return found


def read_annotations(paths, video_filter=None) -> AnnotationSet:
    """Read CSV files (any variant) into an :class:`AnnotationSet`.

    ``video_filter(raw_video_id) -> bool`` drops rows of other videos before validation (used by shards).
    Duplicate rows (same video, entity_id and timestamp) are reported after the first one.
    """
    collector = _Collector()
    for path in paths:
        _read_one(Path(path), collector, video_filter)
    return collector.finish()


def match_body_boxes(faces: AnnotationSet, bodies: AnnotationSet) -> tuple[dict[str, np.ndarray], list[RowIssue]]:
    """WASD body boxes for every face row, matched on (video_id, entity_id, timestamp).

    Returns ``{video_id: (n, 4) float64}`` aligned with ``faces.videos[video_id]`` rows (NaN where a face
    row has no body row) and the issues of body rows that match no face row.
    """
    matched: dict[str, np.ndarray] = {}
    issues: list[RowIssue] = []
    for video_id, body in bodies.videos.items():
        face = faces.videos.get(video_id)
        lookup = {} if face is None else {(e, t): i for i, (e, t) in
                                          enumerate(zip(face.entity_ids, face.timestamps_s.tolist()))}
        out = np.full((0 if face is None else len(face), 4), np.nan)
        for j, key in enumerate(zip(body.entity_ids, body.timestamps_s.tolist())):
            i = lookup.get(key)
            if i is None:
                file, line = body.source(j)
                issues.append(RowIssue(file, line, f"body row of {key[0]!r} at {key[1]} s has no face row",
                                       "body_without_face"))
            else:
                out[i] = body.boxes[j]
        if face is not None:
            matched[video_id] = out
    for video_id, face in faces.videos.items():
        matched.setdefault(video_id, np.full((len(face), 4), np.nan))
    return matched, issues
