"""``generate_corpus``: many synthetic videos in the AVA / WASD layout, in parallel, resumable.

Layout of ``out_dir`` (see docs/synth.md):
    corpus.json, metadata.csv, videos/<id>.mp4, evidence/<id>.npz,
    annotations/per_video/<id>-activespeaker.csv, annotations/<split>_orig.csv,
    annotations/<split>_orig_body.csv
A video counts as done when its per-video CSV exists (written last, after its mp4 and npz), so a
stopped run continues where it stopped. A video that fails is reported and left out; the others stay.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.data.evidence import load_evidence

from .annotations import annotation_rows, write_merged_csv, write_text_atomic
from .config import (
    FPS_CHOICES,
    GENERATOR_VERSION,
    PRESETS,
    VideoSpec,
    make_video_specs,
    parse_categories,
    parse_fps,
    parse_size,
)

log = logging.getLogger(__name__)
DEFAULTS = {"videos": 12, "seconds": 10.0, "size": (640, 360)}


class CorpusError(RuntimeError):
    """The output folder holds a different corpus, or no video could be made."""


def _video_done(out_dir: Path, video_id: str) -> bool:
    return all(p.exists() for p in (
        out_dir / "annotations" / "per_video" / f"{video_id}-activespeaker.csv",
        out_dir / "videos" / f"{video_id}.mp4", out_dir / "evidence" / f"{video_id}.npz"))


def _run_one(spec: VideoSpec, out_dir: str) -> dict:
    """Worker entry point: one video, one thread."""
    import cv2

    from .video import generate_video

    cv2.setNumThreads(1)
    return generate_video(spec, Path(out_dir))


def _resolve(preset: str | None, videos, seconds, size) -> tuple[int, float, tuple[int, int]]:
    base = dict(DEFAULTS)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        base.update(PRESETS[preset])
    videos = base["videos"] if videos is None else int(videos)
    seconds = base["seconds"] if seconds is None else float(seconds)
    return videos, seconds, parse_size(base["size"] if size is None else size)


def _check_existing(out_dir: Path, settings: dict) -> None:
    path = out_dir / "corpus.json"
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CorpusError(f"{path}: unreadable corpus description ({err})") from None
    if old.get("args") != settings or old.get("generator_version") != GENERATOR_VERSION:
        raise CorpusError(f"{path}: {out_dir} holds a corpus made with other settings; choose another --out")


def generate_corpus(
    out_dir: str | os.PathLike,
    *,
    videos: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    size: tuple[int, int] | str | None = None,
    categories: Sequence[str] | str | None = None,
    split: str = "train",
    fps_choices: Sequence[Fraction | float | str] = FPS_CHOICES,
    workers: int | None = None,
    preset: str | None = None,
    progress: bool = True,
) -> Path:
    """Make (or finish) a synthetic corpus in ``out_dir`` and return ``out_dir``.

    ``preset`` ("tiny" or "demo") fills videos/seconds/size left as None; without one the defaults are
    12 videos x 10 s at 640x360. Same seed and settings -> the same CSV bytes and decoded frames,
    whatever ``workers`` is (default: usable CPUs, at most one per video).
    """
    out_dir = Path(out_dir)
    videos, seconds, size = _resolve(preset, videos, seconds, size)
    cats = parse_categories(categories)
    fps_list = tuple(parse_fps(f) for f in fps_choices)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not split or any(c in split for c in "/\\ "):
        raise ValueError(f"split {split!r} must be a plain name like train or val")
    settings = {"videos": videos, "seconds": seconds, "seed": int(seed), "size": list(size),
                "categories": list(cats), "split": split, "fps_choices": [str(f) for f in fps_list]}
    specs = make_video_specs(videos=videos, seconds=seconds, seed=int(seed), size=size, categories=cats,
                             fps_choices=fps_list)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_existing(out_dir, settings)
    _write_description(out_dir, settings, specs, complete=False, failed=[])
    rows, failed = _generate_all(out_dir, specs, workers, progress)
    done = [s for s in specs if s.video_id in rows]
    if not done:
        raise CorpusError(f"{out_dir}: no video could be made ({len(failed)} failed)")
    _write_metadata(out_dir / "metadata.csv", [rows[s.video_id] for s in done])
    _write_merged(out_dir, split, done)
    _write_description(out_dir, settings, specs, complete=not failed, failed=failed)
    return out_dir


def _generate_all(out_dir: Path, specs: list[VideoSpec], workers: int | None, progress: bool
                  ) -> tuple[dict[str, dict], list[str]]:
    rows: dict[str, dict] = {}
    failed: list[str] = []
    todo = []
    for spec in specs:
        if _video_done(out_dir, spec.video_id):
            rows[spec.video_id] = json.loads(str(load_evidence(out_dir / "evidence" / f"{spec.video_id}.npz")
                                                 ["metadata_json"]))
        else:
            todo.append(spec)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(int(workers), len(todo) or 1))
    bar = tqdm(total=len(specs), initial=len(specs) - len(todo), desc="synth videos", unit="video",
               disable=not progress)

    def record(spec: VideoSpec, fn) -> None:
        try:
            rows[spec.video_id] = fn()
        except Exception as err:  # a bad video is reported and skipped; the others go on
            log.error("synth: video %s failed: %s: %s", spec.video_id, type(err).__name__, err)
            failed.append(spec.video_id)
        bar.update(1)

    if workers == 1:
        for spec in todo:
            record(spec, lambda spec=spec: _run_one(spec, str(out_dir)))
    else:
        # fork: workers start at once and need not re-import the caller (the CLI imports torch)
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_run_one, spec, str(out_dir)): spec for spec in todo}
            for future in as_completed(futures):
                record(futures[future], future.result)
    bar.close()
    return rows, failed


def _write_metadata(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def _write_merged(out_dir: Path, split: str, specs: list[VideoSpec]) -> None:
    """<split>_orig.csv (face boxes) and <split>_orig_body.csv (body boxes), videos in corpus order."""
    face_rows, body_rows = [], []
    for spec in specs:
        ev = load_evidence(out_dir / "evidence" / f"{spec.video_id}.npz")
        args = (spec.video_id, ev["frame_times_s"], ev["entity_numbers"], list(ev["entity_ids"]))
        face_rows += annotation_rows(*args, ev["face_box"], ev["label_id"])
        body_rows += annotation_rows(*args, ev["body_box"], ev["label_id"])
    write_merged_csv(out_dir / "annotations" / f"{split}_orig.csv", face_rows)
    write_merged_csv(out_dir / "annotations" / f"{split}_orig_body.csv", body_rows)


def _write_description(out_dir: Path, settings: dict, specs: list[VideoSpec], complete: bool,
                       failed: list[str]) -> None:
    description = {
        "generator": "asd_explain data_prep.synth", "generator_version": GENERATOR_VERSION,
        "seed": settings["seed"], "split": settings["split"], "args": settings,
        "sample_rate_hz": SAMPLE_RATE_HZ, "audio": "AAC mono", "video": "H.264 yuv420p",
        "video_ids": [s.video_id for s in specs if s.video_id not in failed],
        "failed_video_ids": failed, "complete": complete,
    }
    write_text_atomic(out_dir / "corpus.json", json.dumps(description, indent=2) + "\n")
