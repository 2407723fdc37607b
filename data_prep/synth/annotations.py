"""AVA-ActiveSpeaker / WASD annotation CSVs, written exactly like the real files.

Per video (official AVA variant, no header, 8 columns):
    video_id,frame_timestamp,entity_box_x1,entity_box_y1,entity_box_x2,entity_box_y2,label,entity_id
Merged (<split>_orig.csv, <split>_orig_body.csv; header and two more columns):
    ...,label_id,instance_id      instance_id = <entity_id>:<k>, k counts label changes of the entity.
Timestamps are ``repr(round(frame_index / fps, 6))`` (e.g. ``0.0``, ``0.04``, ``0.033367``); boxes are
normalised to [0, 1] with 6 decimals, trailing zeros dropped. Entity ids are
``<video_id>_<start>_<end>:<n>`` with <start>/<end> the track's span in whole seconds (every person is
on screen the whole video: ``0`` and the duration rounded up), <n> numbering the people from left to right
starting at 1. Rows are grouped by entity (in entity number order), each entity in time order.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from asd_explain.atomic import atomic_write

from .config import LABELS

HEADER = ("video_id", "frame_timestamp", "entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2",
          "label", "entity_id")
MERGED_HEADER = HEADER + ("label_id", "instance_id")


def format_timestamp(t: float) -> str:
    """Frame time in seconds, the way the files hold it."""
    return repr(round(float(t), 6))


def format_coord(x: float) -> str:
    """A normalised box coordinate with at most 6 decimals."""
    text = f"{min(1.0, max(0.0, float(x))):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def entity_id(video_id: str, seconds: float, number: int, start_s: int = 0) -> str:
    """``<video_id>_<start>_<end>:<n>`` of a track from ``start_s`` to the end of the video."""
    return f"{video_id}_{start_s}_{int(math.ceil(seconds - 1e-9))}:{number}"


def annotation_rows(video_id: str, times_s: np.ndarray, numbers: Sequence[int], entity_ids: Sequence[str],
                    boxes: np.ndarray, label_ids: np.ndarray) -> list[tuple[str, ...]]:
    """Merged-format rows (10 fields) of one video, grouped by entity, in time order.

    times_s (F,); numbers (P,) entity numbers; entity_ids (P,); boxes (F, P, 4) normalised x1 y1 x2 y2;
    label_ids (F, P).
    """
    rows = []
    stamps = [format_timestamp(t) for t in times_s]
    for p in np.argsort(numbers, kind="stable"):
        eid = entity_ids[p]
        instance, previous = -1, None
        for f in range(len(times_s)):
            label = int(label_ids[f, p])
            if label != previous:
                instance, previous = instance + 1, label
            rows.append((video_id, stamps[f], *(format_coord(v) for v in boxes[f, p]), LABELS[label], eid,
                         str(label), f"{eid}:{instance}"))
    return rows


def csv_text(rows: Iterable[Sequence[str]], header: Sequence[str] | None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) through ``atomic_write``."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def write_per_video_csv(path: Path, rows: Sequence[Sequence[str]]) -> None:
    """The official per-video file: no header, the first 8 columns."""
    write_text_atomic(path, csv_text((r[:8] for r in rows), header=None))


def write_merged_csv(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """The merged file: header and 10 columns."""
    write_text_atomic(path, csv_text(rows, header=MERGED_HEADER))
