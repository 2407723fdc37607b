"""``explain_videos``: ``explain_video`` over several videos or folders, resumable, with one index CSV.

Outputs in ``out_root``:
  <video_id>/     one ``explain_video`` output folder per video (MP4, scores.csv, summary.json/png, tracks/)
  index.csv       one row per video: video, video_id, status (``ok`` or ``error``), message, out_dir,
                  scores_csv, summary_json, explained_video, frames, tracks, seconds; rewritten atomically
                  after every video

A video is finished when index.csv lists it as ``ok``: a rerun (after a crash or ``kill -9``) skips
those and redoes only the others (a video cut off half-way is redone from the start; every file is
written atomically). A video that fails is reported in its row and the run goes on; a rerun tries it again.
"""
from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..config import atomic_write_text
from ..media.decode import VIDEO_EXTENSIONS
from .explain_video import ExplainVideoOptions, explain_video

INDEX_COLUMNS = ["video", "video_id", "status", "message", "out_dir", "scores_csv", "summary_json",
                 "explained_video", "frames", "tracks", "seconds"]


def list_videos(paths: list[str | Path]) -> list[Path]:
    """Files as given and every video file (``VIDEO_EXTENSIONS``) directly in the given folders, sorted."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        elif given.is_file():
            found.append(given)
        else:
            raise FileNotFoundError(f"{given}: video file or folder not found")
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems:
            raise ValueError(f"{path} and {stems[path.stem]} would share the output folder {path.stem}/")
        stems[path.stem] = path
    if not found:
        raise FileNotFoundError(f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in {', '.join(map(str, paths))}")
    return found


def read_index(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["video_id"]: row for row in csv.DictReader(handle)}


def explain_videos(videos: list[str | Path], checkpoint: str | Path, out_root: str | Path,
                   options: ExplainVideoOptions | None = None,
                   on_video: Callable[[dict[str, str]], None] | None = None) -> dict[str, dict[str, str]]:
    """Explain every video (``list_videos``) into ``out_root/<video_id>/``; returns the index rows."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    index_path = out_root / "index.csv"
    rows = read_index(index_path)
    opts = replace(options or ExplainVideoOptions(), video_id=None)
    for video in list_videos(list(videos)):
        if rows.get(video.stem, {}).get("status") == "ok":
            row = dict(rows[video.stem], message="finished in an earlier run")
        else:
            row = _explain_one(video, checkpoint, out_root / video.stem, opts)
            rows[video.stem] = row
            _write_index(index_path, rows)
        if on_video is not None:
            on_video(row)
    return rows


def _explain_one(video: Path, checkpoint, out_dir: Path, opts: ExplainVideoOptions) -> dict[str, str]:
    started = time.perf_counter()
    row: dict[str, Any] = {"video": str(video), "video_id": video.stem, "out_dir": str(out_dir)}
    try:
        summary = explain_video(video, checkpoint, out_dir, opts)
    except (ValueError, FileNotFoundError, OSError) as err:
        return {**row, "status": "error", "message": str(err).splitlines()[0][:300],
                "seconds": f"{time.perf_counter() - started:.2f}"}
    outputs = summary.get("outputs", {})
    return {**row, "status": "ok", "message": "; ".join(summary.get("notes", []))[:300],
            "scores_csv": outputs.get("scores_csv", ""), "summary_json": outputs.get("summary_json", ""),
            "explained_video": outputs.get("video", ""), "frames": str(summary.get("frames", "")),
            "tracks": str(len(summary.get("tracks", []))), "seconds": f"{time.perf_counter() - started:.2f}"}


def _write_index(path: Path, rows: dict[str, dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for video_id in sorted(rows):
        writer.writerow({k: rows[video_id].get(k, "") for k in INDEX_COLUMNS})
    atomic_write_text(path, buffer.getvalue())
