"""End-to-end speed of `asd-explain explain VIDEO`: 640x360, 25 fps, two real faces, detection included.

The test video is made from a real photograph (scikit-image's astronaut, a real face) pasted twice into
640x360 frames that drift slowly, with a soundtrack of band-limited noise bursts, so the dlib detector
finds two faces as it would in real footage. The baseline is the video's own duration: the printed
`real_time_factor` is duration / wall time (>= 1 means faster than real time).

    python benchmarks/explain_video_speed.py --checkpoint runs/synth_fba_se/checkpoints/best.pt [--json]
(without --checkpoint an untrained model of the default config is used: same cost, meaningless scores)

    python benchmarks/explain_video_speed.py --range 2 5 [--seconds 30]
times ``explain --start 2 --end 5`` against the whole video in the same run (both with detection and
rendering): the range decodes from a seek, so its wall time follows the range's length, not the video's.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def make_video(path: Path, seconds: float, fps: int = 25) -> Path:
    import cv2
    from skimage import data

    from asd_explain.pipeline.video_writer import Mp4Writer

    face = np.ascontiguousarray(data.astronaut()[40:230, 150:300])  # the face at its native ~87 px
    rng = np.random.default_rng(0)
    background = cv2.resize(rng.integers(60, 200, (9, 16, 3), dtype=np.uint8), (640, 360),
                            interpolation=cv2.INTER_CUBIC)
    n = int(seconds * fps)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 4 * t) > 0.2) * (np.sin(2 * np.pi * 0.3 * t) > -0.3)
    audio = (0.2 * envelope * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 900 * t)))
    with Mp4Writer(path, fps, 640, 360, audio=(audio.astype(np.float32), rate)) as writer:
        for i in range(n):
            frame = background.copy()
            for k, (x0, y0) in enumerate(((110, 80), (390, 90))):
                x = int(x0 + 15 * np.sin(2 * np.pi * (i / n + k / 3)))
                y = int(y0 + 8 * np.cos(2 * np.pi * (i / n)))
                frame[y:y + face.shape[0], x:x + face.shape[1]] = face
            writer.write(frame)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="trained ASD checkpoint (default: an untrained default model)")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--range", nargs=2, type=float, metavar=("START", "END"),
                        help="also explain only [START, END) s and print its wall time against the whole video's")
    args = parser.parse_args()
    import torch

    from asd_explain.models.asd_model import ASDModel
    from asd_explain.models.config import ModelConfig
    from asd_explain.pipeline.explain_video import ExplainVideoOptions, explain_video
    from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = make_video(tmp / "two_faces.mp4", args.seconds)
        checkpoint = args.checkpoint
        if checkpoint is None:
            torch.manual_seed(0)
            checkpoint = tmp / "untrained.pt"
            atomic_torch_save(make_checkpoint(ASDModel(ModelConfig())), checkpoint)
        started = time.perf_counter()
        summary = explain_video(video, checkpoint, tmp / "out", ExplainVideoOptions(progress=False))
        wall = time.perf_counter() - started
        ranged = None
        if args.range:
            started = time.perf_counter()
            part = explain_video(video, checkpoint, tmp / "range", ExplainVideoOptions(
                progress=False, start_s=args.range[0], end_s=args.range[1]))
            range_wall = time.perf_counter() - started
            ranged = {"range_s": part["time_range_s"], "range_frames": part["frames"],
                      "range_wall_s": round(range_wall, 2), "whole_wall_s": round(wall, 2),
                      "range_over_whole_wall": round(range_wall / wall, 3),
                      "range_over_whole_duration": round(part["frames"] / summary["frames"], 3),
                      "range_stage_seconds": part["stage_seconds"]}
    result = {
        "video": "640x360, 25 fps, 2 real faces", "duration_s": summary["duration_s"], "wall_s": round(wall, 2),
        "real_time_factor": round(summary["duration_s"] / wall, 3), "tracks": len(summary["tracks"]),
        "frames_with_a_track": summary["frames_with_a_track"], "frames": summary["frames"],
        "detect_every": summary["track_source"].get("detect_every"), "stage_seconds": summary["stage_seconds"],
        "torch_threads": torch.get_num_threads(),
    }
    if ranged:
        result.update(ranged)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
