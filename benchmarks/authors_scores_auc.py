"""Speaking-vs-silence AUC of the published models on the real clips, fed by the toolkit's authors'-recipe
inputs (``asd_explain.pretrained_inputs``: 25 fps, their crop, psf MFCC, multi-duration averaging).

Labels: the speech segments of ../shared/data/real/README.md (automatic VAD); a frame is speaking when its
25 fps time lies in a segment. Compare with PRETRAINED.md's numbers from the authors' own code with OpenCV
faces (Light-ASD 0.999 / 0.983, LR-ASD 1.000 / 0.980). Needs ../shared.

    python benchmarks/authors_scores_auc.py --json [--detectors dlib,haar]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEECH_S = {"talking_head_1.mp4": [(0.0, 2.5), (3.5, 4.7)],
            "talking_head_2.mp4": [(0.2, 2.4), (2.6, 4.1), (4.4, 4.9)]}
FILES = {"light-asd": "pretrain_AVA_CVPR.model", "lr-asd": "pretrain_AVA.model"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--detectors", default="dlib")
    parser.add_argument("--audio-starts", default="stream,pts", help="AuthorsPrepConfig.audio_start values")
    args = parser.parse_args()
    import torch
    from sklearn.metrics import roc_auc_score

    from asd_explain.models.pretrained import load_pretrained
    from asd_explain.pretrained_inputs.multi_duration import (
        AUTHORS_DURATIONS_S,
        LISTED_DURATIONS_S,
        multi_duration_scores,
        staged_model_fn,
    )
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, prepare_authors_tracks

    torch.set_num_threads(1)
    models = {name: load_pretrained(name, SHARED / "weights" / name / file) for name, file in FILES.items()}
    results = {}
    for clip, segments in SPEECH_S.items():
        for detector, audio_start in [(d, a) for d in args.detectors.split(",") for a in args.audio_starts.split(",")]:
            config = AuthorsPrepConfig(detector=detector, audio_start=audio_start)
            video = prepare_authors_tracks(SHARED / "data" / "real" / clip, config, progress=False)
            track = max(video.tracks, key=len)
            faces, mfcc = torch.from_numpy(track.faces)[None], torch.from_numpy(track.authors_mfcc())[None]
            for name, model in models.items():
                for label, durations in (("durations_1_to_6", AUTHORS_DURATIONS_S), ("listed_11", LISTED_DURATIONS_S)):
                    scores = multi_duration_scores(staged_model_fn(model), faces, mfcc, durations)
                    times = track.timestamps_s[:len(scores)]
                    speaking = np.zeros(len(times), bool)
                    for start, end in segments:
                        speaking |= (times >= start) & (times < end)
                    key = f"{clip}/{detector}/audio_{audio_start}/{name}/{label}"
                    results[key] = round(float(roc_auc_score(speaking, scores)), 3)
    print(json.dumps(results, indent=1) if args.json else results)


if __name__ == "__main__":
    main()
