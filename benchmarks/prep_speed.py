"""Preparation speed: decode-once into the track store vs the field's per-row seek + JPEG-per-frame method.

Same video and annotations in one run: a synthetic 720p, 25 fps clip with 3 annotated faces (AVA CSV).

* ours: ``prepare_store`` (PyAV decode once, crops of face + body derived from the face, audio decoded once
  and sliced per track), one process, pinned to ``--cores`` cores;
* baseline (TalkNet / Light-ASD preprocessing, with BIAS's body crops): per track, open
  ``cv2.VideoCapture``; per row ``set(CAP_PROP_POS_MSEC)`` + ``read`` (a seek per row), crop face and body
  boxes at full resolution and ``cv2.imwrite`` one JPEG each; audio decoded once, one WAV per track. The
  baseline runs on ``--baseline-rows`` rows (evenly spread over every track; its cost per row does not
  depend on how many rows it does) and its time is extrapolated to all rows.

    python benchmarks/prep_speed.py                  # 20 s of 1280x720 video
    python benchmarks/prep_speed.py --seconds 60 --baseline-rows 300
Targets: >= 10x faster than the baseline; >= 5x real time on 2 cores; bytes per stored frame not larger.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from scipy.io import wavfile

from asd_explain.data.ava_csv import annotation_files, read_annotations
from asd_explain.media.crops import BodyFromFace
from asd_explain.media.decode import decode_audio
from data_prep.prepare import prepare_store
from data_prep.settings import PrepSettings
from data_prep.synth import generate_corpus
from data_prep.synth.config import make_video_specs
from data_prep.synth.video import plan_video


def make_corpus(workdir: Path, seconds: float, size: tuple[int, int]) -> Path:
    """One OC video at 25 fps with exactly 3 people (the first seed that gives 3)."""
    for seed in range(100):
        spec = make_video_specs(videos=1, seconds=seconds, seed=seed, size=size, categories=("OC",),
                                fps_choices=(Fraction(25),))[0]
        if len(plan_video(spec).people) == 3:
            break
    corpus = workdir / f"corpus-{size[0]}x{size[1]}-{seconds:g}s-seed{seed}"
    generate_corpus(corpus, videos=1, seconds=seconds, seed=seed, size=size, categories=("OC",),
                    fps_choices=("25",), workers=1, progress=False)
    return corpus


def keyframe_interval(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        flags = [p.is_keyframe for p in container.demux(video=0) if p.size]
    return len(flags) / max(sum(flags), 1)


def run_ours(corpus: Path, out: Path, resize: str = "linear") -> tuple[float, int, int]:
    """(seconds, rows stored, bytes of the track files)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = prepare_store("ava", corpus / "videos", corpus / "annotations" / "per_video", out, progress=False,
                           settings=PrepSettings(resize=resize))
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (out / "tracks").rglob("*.trk"))
    return seconds, report.rows_stored, size


def _pixels(box, width: int, height: int) -> tuple[int, int, int, int]:
    return int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height)


def run_baseline(corpus: Path, out: Path, n_rows: int) -> tuple[float, int, int, int]:
    """The field's method on ~n_rows rows: (seconds, rows done, total rows, bytes written)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    annotations = read_annotations(annotation_files(corpus / "annotations" / "per_video"))
    (video_id, rows), = annotations.videos.items()
    video = str(corpus / "videos" / f"{video_id}.mp4")
    tracks = rows.tracks()
    step = max(1, len(rows) // n_rows)
    body_boxes = BodyFromFace().boxes(rows.boxes)
    started = time.perf_counter()
    audio, t0 = decode_audio(Path(video), 0.0, float(rows.timestamps_s.max()) + 1.0)
    done, written = 0, 0
    for entity, indices in tracks.items():
        folder = out / entity.replace(":", "_")
        folder.mkdir()
        capture = cv2.VideoCapture(video)
        width = capture.get(cv2.CAP_PROP_FRAME_WIDTH)
        height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        for i in indices[::step].tolist():
            capture.set(cv2.CAP_PROP_POS_MSEC, rows.timestamps_s[i] * 1000.0)
            ok, frame = capture.read()
            if not ok:
                continue
            for name, box in (("face", rows.boxes[i]), ("body", body_boxes[i])):
                x1, y1, x2, y2 = _pixels(box, int(width), int(height))
                path = folder / f"{name}_{rows.timestamps_s[i]:.2f}.jpg"
                cv2.imwrite(str(path), frame[y1:y2, x1:x2])
                written += path.stat().st_size
            done += 1
        capture.release()
        ts = rows.timestamps_s[indices]
        first = int(round((ts[0] - 0.02 - t0) * 16000))
        clip = audio[max(first, 0):first + int(round((ts[-1] - ts[0] + 0.04) * 16000))]
        wavfile.write(folder / "audio.wav", 16000, (clip * 32767).astype(np.int16))
        written += (folder / "audio.wav").stat().st_size * len(indices[::step]) // len(indices)
    return time.perf_counter() - started, done, len(rows), written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--baseline-rows", type=int, default=90)
    parser.add_argument("--cores", type=int, default=2, help="Pin this process to the first N cores.")
    parser.add_argument("--workdir", type=Path, help="Keeps the corpus between runs (default: temp folder).")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    cv2.setNumThreads(args.cores)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prep_speed_"))
    size = tuple(int(v) for v in args.size.split("x"))
    corpus = make_corpus(workdir, args.seconds, size)
    video = next((corpus / "videos").glob("*.mp4"))
    print(f"video {video.name}: {size[0]}x{size[1]}, 25 fps, {args.seconds:g} s, 3 faces, one keyframe per "
          f"{keyframe_interval(video):.0f} frames; {len(os.sched_getaffinity(0))} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    ours_s, rows, ours_bytes = run_ours(corpus, workdir / "store")
    area_s, _, _ = run_ours(corpus, workdir / "store-area", resize="area")
    base_s, base_rows, total_rows, base_bytes = run_baseline(corpus, workdir / "baseline", args.baseline_rows)
    base_total_s = base_s / base_rows * total_rows
    print(f"ours:     {rows} rows in {ours_s:.2f} s = {rows / ours_s:.0f} rows/s, "
          f"{args.seconds / ours_s:.1f}x real time, {ours_bytes / rows:.0f} bytes per stored frame")
    print(f"ours with --resize area (anti-aliased crops): {area_s:.2f} s, {args.seconds / area_s:.1f}x real time")
    print(f"baseline: {base_rows} of {total_rows} rows in {base_s:.2f} s = {base_rows / base_s:.1f} rows/s "
          f"-> {base_total_s:.1f} s for all, {args.seconds / base_total_s:.2f}x real time, "
          f"{base_bytes / base_rows:.0f} bytes per stored frame")
    speedup = base_total_s / ours_s
    print(f"speed-up {speedup:.1f}x (target >= 10: {'met' if speedup >= 10 else 'NOT met'}); real time "
          f"{args.seconds / ours_s:.1f}x (target >= 5: {'met' if args.seconds / ours_s >= 5 else 'NOT met'}); "
          f"bytes/frame ratio ours/baseline {ours_bytes / rows / (base_bytes / base_rows):.2f} "
          f"(target <= 1); load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
