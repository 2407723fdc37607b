"""Speed of ``asd-explain score-csv`` on 2 million rows, against a plain pandas re-implementation.

Generates (once, cached in ``--work-dir``) an AVA ground-truth CSV and a shuffled prediction CSV of
``--rows`` rows without header (as the official files): 100-frame tracks, AVA-like timestamps and entity
ids, 35 % SPEAKING_AUDIBLE and 5 % SPEAKING_NOT_AUDIBLE rows, scores with two decimals (many ties).
Then times, in the same process, ``asd_explain.metrics.ava_scoring.score_csv`` and the baseline: the
published algorithm written plainly in pandas (``tests/_ava_reference.py``: string uids, merge, sort,
Python loop for the VOC precision envelope). Prints both times, the ratio, and whether the two APs agree
to 1e-9. Target (issue 6): 2 M rows in under 10 s.

    python benchmarks/score_csv_speed.py                    # 2,000,000 rows
    python benchmarks/score_csv_speed.py --rows 200000 --no-baseline
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from asd_explain.metrics.ava_scoring import score_csv

TARGET_S = 10.0
LABELS = np.array(["NOT_SPEAKING", "SPEAKING_AUDIBLE", "SPEAKING_NOT_AUDIBLE"])


def write_inputs(rows: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """GT and prediction CSVs of ``rows`` rows (no header); reused if already there."""
    gt_path, pred_path = folder / f"gt_{rows}.csv", folder / f"pred_{rows}.csv"
    if gt_path.exists() and pred_path.exists():
        return gt_path, pred_path
    rng = np.random.default_rng(seed)
    track = np.arange(rows) // 100
    video = np.char.add("vid", (track // 20).astype(str))
    entity = np.char.add(np.char.add(video, "_0900_0930:"), (track % 20).astype(str))
    timestamps = np.round(900.0 + (np.arange(rows) % 100) * 0.04 + (track % 3) * 0.01, 2)
    labels = LABELS[rng.choice(3, size=rows, p=[0.60, 0.35, 0.05])]
    boxes = rng.random((rows, 4)).round(3)
    gt = pd.DataFrame({"video_id": video, "frame_timestamp": timestamps, "x1": boxes[:, 0], "y1": boxes[:, 1],
                       "x2": boxes[:, 2], "y2": boxes[:, 3], "label": labels, "entity_id": entity})
    gt.to_csv(gt_path, index=False, header=False)
    scores = np.round(np.clip((labels == "SPEAKING_AUDIBLE") * 0.3 + rng.random(rows) * 0.7, 0, 1), 2)
    pred = gt.assign(label="SPEAKING_AUDIBLE", score=scores).sample(frac=1.0, random_state=seed)
    pred.to_csv(pred_path, index=False, header=False)
    return gt_path, pred_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "asd_score_csv_bench")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain pandas baseline")
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    gt_path, pred_path = write_inputs(args.rows, args.work_dir)
    print(f"inputs: {args.rows:,} rows in {args.work_dir} (ready in {time.perf_counter() - start:.1f} s)")

    start = time.perf_counter()
    result = score_csv(gt_path, pred_path)
    ours_s = time.perf_counter() - start
    print(f"asd-explain score-csv:      AP {result.ap:.12f}  {ours_s:7.2f} s")
    if not args.no_baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from _ava_reference import reference_ap

        start = time.perf_counter()
        expected = reference_ap(gt_path, pred_path)
        base_s = time.perf_counter() - start
        print(f"plain pandas (baseline):    AP {expected:.12f}  {base_s:7.2f} s")
        same = abs(result.ap - expected) <= 1e-9
        print(f"speed-up {base_s / ours_s:.1f}x; APs agree to 1e-9: {'yes' if same else 'NO'}")
    verdict = "PASS" if ours_s < TARGET_S else "FAIL"
    print(f"target < {TARGET_S:.0f} s for {args.rows:,} rows: {verdict} (ratio {ours_s / TARGET_S:.2f})")


if __name__ == "__main__":
    main()
