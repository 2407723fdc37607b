"""How fast ``asd-prep synth`` makes its corpus (target: 12 videos x 10 s at 640x360 in <= 60 s on 2 cores).

    python benchmarks/synth_speed.py                       # 12 x 10 s, 640x360, workers = usable CPUs
    python benchmarks/synth_speed.py --videos 4 --seconds 5 --workers 1

Prints the wall time, the real-time ratio (seconds of video made per second of wall time), the CPU
time of all processes (what the wall time would be on idle cores: the machine may be shared), and a
baseline measured in the same run: encoding the same number of frames (the textured background with
the same sensor noise, no people, silence) with the same encoder settings, over the same number of
processes. The ratio
corpus / baseline says how much the drawing, the sound and the annotation files add to the encoding.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from data_prep.synth import generate_corpus
from data_prep.synth.config import FPS_CHOICES, make_video_specs, parse_categories, parse_size
from data_prep.synth.media import write_mp4
from data_prep.synth.render import finish_frame, noise_frames
from data_prep.synth.scene import Camera, make_background

TARGET_S = 60.0
CAMERA = Camera(shake=False, blur_sigma=0.0, low_res_factor=1, noise_sigma=2.0, margin=0)


def _encode_only(args: tuple[str, int, int, int, Fraction, float]) -> int:
    path, seed, width, height, fps, seconds = args
    rng = np.random.default_rng(seed)
    still = make_background(rng, width, height, 0)
    noise = noise_frames(rng, 2.0, width, height)
    frames = (finish_frame(still, CAMERA, (width, height), noise[i % len(noise)], None)
              for i in range(int(seconds * fps)))
    return write_mp4(Path(path), frames, np.zeros(int(seconds * 16000), np.float32), fps=fps, width=width,
                     height=height, sample_rate_hz=16000)


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children (the workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def baseline_s(out: Path, videos: int, seconds: float, size: tuple[int, int], workers: int) -> float:
    specs = make_video_specs(videos=videos, seconds=seconds, seed=0, size=size, categories=parse_categories(None),
                             fps_choices=FPS_CHOICES)
    jobs = [(str(out / f"b{s.index}.mp4"), s.seed, size[0], size[1], s.fps, seconds) for s in specs]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        list(pool.map(_encode_only, jobs))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    workers = args.workers or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        cpu_start = _cpu_s()
        corpus = generate_corpus(tmp / "corpus", videos=args.videos, seconds=args.seconds, seed=args.seed,
                                 size=size, workers=workers, progress=False)
        wall = time.perf_counter() - start
        cpu = _cpu_s() - cpu_start
        made_s = sum(float(line.split(",")[8]) for line in (corpus / "metadata.csv").read_text().splitlines()[1:])
        (tmp / "base").mkdir()
        base = baseline_s(tmp / "base", args.videos, args.seconds, size, workers)
    print(f"corpus: {args.videos} videos x {args.seconds:g} s at {size[0]}x{size[1]}, {workers} workers, "
          f"{os.cpu_count()} CPUs seen")
    print(f"wall time          {wall:7.1f} s   (target <= {TARGET_S:.0f} s for 12 x 10 s on 2 cores)")
    print(f"real-time ratio    {made_s / wall:7.2f} x   ({made_s:.0f} s of video)")
    print(f"CPU time           {cpu:7.1f} s   (all processes; / {workers} = {cpu / workers:.1f} s on idle cores; "
          f"load average now {os.getloadavg()[0]:.1f})")
    print(f"encode-only base   {base:7.1f} s   corpus / base = {wall / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
