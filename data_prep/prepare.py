"""Preparing AVA-ActiveSpeaker / WASD into a track store: the library function behind ``asd-prep ava|wasd``.

``prepare_store`` reads the annotation CSVs (any variant), keeps the videos of its shard, validates every
row, then prepares video after video (a process pool when ``workers > 1``), each decoded once, and writes
a report. Running it again on the same store resumes: finished videos are skipped at once, finished tracks
are never rewritten, and the store's content equals that of an uninterrupted run.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from asd_explain import __version__
from asd_explain.data.ava_csv import AnnotationSet, RowIssue, annotation_files, match_body_boxes, read_annotations
from asd_explain.data.store_writer import open_store_for_writing
from asd_explain.media.decode import find_videos

from .categories import Categories
from .report import PrepReport
from .settings import PrepSettings
from .video_job import VideoJob, VideoResult, prepare_video


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` (0 <= i < N) -> (i, N); e.g. ``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``."""
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r} must look like i/N, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r}: need 0 <= i < N")
    return index, count


def shard_of(video_id: str, count: int) -> int:
    """The shard a video belongs to: CRC-32 of its id modulo the shard count (stable across machines)."""
    return zlib.crc32(video_id.encode("utf-8")) % count


def _split_issues(annotations: AnnotationSet, report: PrepReport) -> None:
    for issue in annotations.issues:
        (report.skipped if issue.row > 0 else report.file_issues).append(issue)


def _drop_rows(annotations: AnnotationSet, video_id: str, drop: np.ndarray, kind: str, reason,
               report: PrepReport) -> None:
    rows = annotations.videos[video_id]
    for i in np.flatnonzero(drop).tolist():
        file, line = rows.source(i)
        report.skipped.append(RowIssue(file, line, reason(i) if callable(reason) else reason, kind))
    annotations.videos[video_id] = rows.subset(~drop)


def _attach_bodies(faces: AnnotationSet, body_paths: list[Path], keep, report: PrepReport) -> dict:
    """Body boxes per video for body_source csv; face rows without a body row are skipped."""
    bodies = read_annotations(body_paths, keep)
    report.file_issues += bodies.issues
    matched, issues = match_body_boxes(faces, bodies)
    report.file_issues += issues
    for video_id in list(faces.videos):
        missing = np.isnan(matched[video_id]).any(axis=1)
        if missing.any():
            _drop_rows(faces, video_id, missing, "no_body_box",
                       f"no body box for this row in {', '.join(p.name for p in body_paths)}", report)
            matched[video_id] = matched[video_id][~missing]
    return matched


def _drop_shared_entities(faces: AnnotationSet, report: PrepReport, bodies: dict | None) -> None:
    """An entity_id names one track: rows using it in a second video are skipped."""
    owner: dict[str, str] = {}
    for video_id in sorted(faces.videos):
        rows = faces.videos[video_id]
        drop = np.zeros(len(rows), dtype=bool)
        for i, entity in enumerate(rows.entity_ids):
            if owner.setdefault(entity, video_id) != video_id:
                drop[i] = True
        if drop.any():
            _drop_rows(faces, video_id, drop, "entity_in_two_videos",
                       lambda i, r=rows: f"entity_id {r.entity_ids[i]!r} already used in video "
                                         f"{owner[r.entity_ids[i]]!r}", report)
            if bodies is not None:
                bodies[video_id] = bodies[video_id][~drop]


def load_rows(dataset: str, annotations, split: str | None, settings: PrepSettings, body_annotations,
              shard: tuple[int, int]) -> tuple[AnnotationSet, dict | None, PrepReport]:
    """The valid face rows of the shard's videos, their body boxes (body_source csv) and the report so far."""
    if (settings.body_source == "csv") != (body_annotations is not None):
        raise ValueError("body annotations (a WASD *_orig_body.csv) go with body_source 'csv' and only with it")
    index, count = shard
    keep = (lambda video_id: shard_of(video_id, count) == index) if count > 1 else None
    faces = read_annotations(annotation_files(annotations, split), keep)
    report = PrepReport(dataset, split, shard, rows_in=faces.rows_read)
    _split_issues(faces, report)
    bodies = None
    if settings.body_source == "csv":
        body_paths = annotation_files(body_annotations, split, body=True)
        bodies = _attach_bodies(faces, body_paths, keep, report)
    _drop_shared_entities(faces, report, bodies)
    return faces, bodies, report


def prepare_store(dataset: str, videos: str | os.PathLike, annotations: str | os.PathLike,
                  out: str | os.PathLike, *, split: str | None = None, settings: PrepSettings | None = None,
                  body_annotations: str | os.PathLike | None = None, categories: Categories | None = None,
                  workers: int = 1, shard: tuple[int, int] = (0, 1), decode_threads: int | None = None,
                  fsync: bool = False, progress: bool = True) -> PrepReport:
    """Prepare (or resume preparing) the videos of one shard into the store at ``out``; returns the report.

    ``annotations``/``body_annotations``: a CSV file or a folder (see ``annotation_files``). ``settings``
    defaults to 112x112 grey faces and bodies, bodies derived from faces (``body_source="csv"`` needs
    ``body_annotations``). Raises only for unusable arguments; bad rows and videos go into the report.
    """
    started = time.perf_counter()
    settings = settings or PrepSettings()
    faces, bodies, report = load_rows(dataset, annotations, split, settings, body_annotations, shard)
    found = find_videos(videos)
    manifest = {"dataset": dataset, "split": split, "settings": settings.manifest_settings(),
                "created_by": f"asd-prep {__version__}", "documentation": "docs/prepare.md"}
    root = open_store_for_writing(out, manifest)
    categories = categories or Categories()
    jobs = [VideoJob(root, video_id, found.get(video_id), faces.videos[video_id], settings,
                     None if bodies is None else bodies[video_id], categories.of(video_id),
                     (0 if workers <= 1 else 1) if decode_threads is None else decode_threads, fsync)
            for video_id in sorted(faces.videos) if len(faces.videos[video_id])]
    for result in _run_jobs(jobs, workers, progress):
        add_result(report, result)
    report.skipped.sort(key=lambda issue: (issue.file, issue.row))
    report.seconds = time.perf_counter() - started
    report.write(root)
    return report


def add_result(report: PrepReport, result: VideoResult) -> None:
    report.videos += 1
    report.videos_skipped += 0 if result.usable else 1
    report.rows_stored += result.rows_stored
    report.tracks_stored += result.tracks_stored
    report.tracks_written += result.tracks_written
    report.skipped += result.skipped
    report.video_seconds += result.video_seconds
    report.file_issues += result.media_issues


def _worker_init(parent_pid: int) -> None:
    """Pool workers stop as soon as the run's main process is gone (e.g. killed with SIGKILL), so a killed
    run leaves no process writing into the store."""

    def watch() -> None:
        while True:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _run_jobs(jobs: list[VideoJob], workers: int, progress: bool) -> Iterable[VideoResult]:
    total = sum(len(job.rows) for job in jobs)
    with tqdm(total=total, unit="row", desc="prepare", disable=not progress, smoothing=0.05) as bar:
        if workers <= 1:
            for job in jobs:
                before = bar.n
                result = prepare_video(job, on_rows=bar.update)
                bar.update(len(job.rows) - (bar.n - before))
                yield result
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["data_prep.video_job"])  # workers start without re-importing
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(prepare_video, job): job for job in jobs}
            try:
                for future in as_completed(futures):
                    bar.update(len(futures[future].rows))
                    yield future.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
