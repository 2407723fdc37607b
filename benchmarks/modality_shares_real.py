"""Modality shares of the published models on the two real clips: do they move, and do they follow occlusion?

For each model (Light-ASD, LR-ASD; SE identity at init, or distilled with --se-checkpoint) and each clip:
the clip's track explained with its own audio, the other clip's speech and silence
(``pipeline.modality_check.audio_swap_check``), on the frames the original scores as speaking: the audio
share (the default shown kind, and LR-ASD's native gate), the audio occlusion, the score, and whether the
share moved in the occlusion's direction. Also whether each clip's shown shares move at all
(``shown_shares.shares_move``).

    ASD_EXPLAIN_WEIGHTS=../shared/weights python benchmarks/modality_shares_real.py [--se-checkpoint FILE]
        [--models light-asd] [--kinds auto se_mass kept_channels] [--json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs=2, default=[str(CLIPS / "talking_head_1.mp4"),
                                                     str(CLIPS / "talking_head_2.mp4")])
    parser.add_argument("--models", nargs="+", default=["light-asd", "lr-asd"])
    parser.add_argument("--se-checkpoint", help="distilled SE blocks (only for the model they were made for)")
    parser.add_argument("--kinds", nargs="+", default=["auto"],
                        help="share kinds checked against occlusion (auto = the default shown; also se_mass, "
                             "kept_channels; LR-ASD adds native_gate)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from asd_explain.explain.map_settings import MapSettings
    from asd_explain.explain.shown_shares import shares_move, shown_shares
    from asd_explain.pipeline.modality_check import audio_swap_check
    from asd_explain.pipeline.pretrained_track import explain_authors_track, load_explained_model
    from asd_explain.pretrained_inputs.prepare import prepare_authors_tracks

    torch.set_num_threads(1)
    prepared = [prepare_authors_tracks(clip, progress=False).tracks[0] for clip in args.clips]
    names = [Path(c).stem for c in args.clips]
    rows = []
    for model_name in args.models:
        model = load_explained_model(model_name, se_checkpoint=args.se_checkpoint)
        kinds = list(args.kinds) + (["native_gate"] if model_name == "lr-asd" else [])
        for kind in kinds:
            for row in audio_swap_check(model, prepared, names, kind=kind):
                rows.append({"model": model_name, "asked": kind, **row})
        for name, track in zip(names, prepared):
            expl = explain_authors_track(model, track.faces, track.mfcc, settings=MapSettings(),
                                         scoring="single-pass").explanation
            for kind in ("auto", "se_mass", "kept_channels") + (("native_gate",) if model_name == "lr-asd" else ()):
                used, shares = shown_shares(expl.importance, kind)
                rows.append({"model": model_name, "track": name, "variant": "shares_move", "kind": used,
                             "moves": shares_move(shares),
                             "audio_range": [round(float(shares["audio"].min()), 3),
                                             round(float(shares["audio"].max()), 3)]})
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
