"""Cost of explaining the audio-visual model: SE vs grad-cam per modality, ratios from one run.

Model: the default ``ASDModel`` (light face + body + audio encoders with SE, ~2M parameters), random
weights (cost does not depend on them), eval mode; input: ``--clips`` clips of ``--frames`` frames, 112 x 112
grey face and body crops, 40 log-mel bands at 4 audio frames per video frame (default 4 x 32). Timed, from
one run:
  forward          the plain no-grad forward (reference);
  se               ``explain_av_batch`` (occlusion off): one no-grad forward + face and body heatmaps of every
                   frame at 112 x 112, the spectrogram attention and the modality shares (all modalities at once);
  se-clipmean      the same with ``reference="clip-mean"``;
  se+occlusion     ``se`` with the occlusion importance (one extra fusion + temporal pass per modality);
  <method>:<m>     a grad-cam method on modality m through ``av_baselines.ModalityView`` (one forward and
                   one backward of the whole model; parameters require grad, as grad-cam is normally used);
  <method>:all     the sum over the modalities of the same round (what explaining all three costs);
  gradcam-frozen:<m>  GradCAM with every parameter frozen (no weight gradients; the input needs one).
Every run gets ``--warmup`` untimed calls, then ``--repeats`` rounds with the order rotating per round.
``seconds`` is the median over rounds; ``x_se`` the median over rounds of (time / se time of that round).

    python benchmarks/av_explain_cost.py                  # table
    python benchmarks/av_explain_cost.py --json           # {"se": {"seconds", "x_se"}, "gradcam:face": ...}
    python benchmarks/av_explain_cost.py --check          # exit 1 unless gradcam:<m> >= 2.5 x se for every m
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Callable

import torch

from asd_explain.explain.av import MapSettings, explain_av_batch
from asd_explain.explain.av_baselines import av_explainer
from asd_explain.models import ASDModel, ModelConfig

MODALITIES = ("face", "body", "audio")
SPEEDUP = 2.5


def make_runs(model: ASDModel, batch: dict, methods: list[str]) -> dict[str, Callable[[], object]]:
    modalities = [m for m in MODALITIES if m in model.modalities]

    def forward() -> object:
        with torch.no_grad():
            return model(**batch)

    def baseline(method: str, modality: str, frozen: bool = False) -> Callable[[], object]:
        def run() -> object:
            flags = [p.requires_grad for p in model.parameters()]
            if frozen:
                model.requires_grad_(False)
            try:
                with av_explainer(method, model, batch, modality) as explainer:
                    return explainer.explain(batch[modality])
            finally:
                for p, flag in zip(model.parameters(), flags, strict=True):
                    p.requires_grad_(flag)
                model.zero_grad(set_to_none=True)
        return run

    runs: dict[str, Callable[[], object]] = {
        "forward": forward, "se": lambda: explain_av_batch(model, batch, MapSettings(occlusion=False)),
        "se-clipmean": lambda: explain_av_batch(model, batch, MapSettings(reference="clip-mean", occlusion=False)),
        "se+occlusion": lambda: explain_av_batch(model, batch, MapSettings(occlusion=True))}
    for method in methods:
        for modality in modalities:
            runs[f"{method}:{modality}"] = baseline(method, modality)
    for modality in modalities:
        runs[f"gradcam-frozen:{modality}"] = baseline("gradcam", modality, frozen=True)
    return runs


def build_model(checkpoint: str | None) -> ASDModel:
    """The default model with random weights, or the model of a checkpoint (its architecture and weights)."""
    if checkpoint is None:
        return ASDModel(ModelConfig()).eval()
    from asd_explain.train.checkpoint import load_model

    return load_model(checkpoint)[0]


def measure(methods: list[str], clips: int, frames: int, repeats: int, warmup: int,
            progress: bool, checkpoint: str | None = None) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    model = build_model(checkpoint)
    c = model.config
    batch = {"face": torch.randn(clips, frames, c.face_channels, 112, 112),
             "body": torch.randn(clips, frames, c.body_channels, 112, 112),
             "audio": torch.randn(clips, 4 * frames, c.n_audio_features)}
    batch = {m: x for m, x in batch.items() if m in model.modalities}
    runs = make_runs(model, batch, methods)
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    names = list(runs)
    times: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    for round_index in range(repeats):
        shift = round_index % len(names)
        this_round = {}
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            runs[name]()
            this_round[name] = time.perf_counter() - started
        for method in methods + ["gradcam-frozen"]:
            this_round[f"{method}:all"] = sum(v for k, v in this_round.items() if k.startswith(f"{method}:"))
        for name, seconds in this_round.items():
            times.setdefault(name, []).append(seconds)
            ratios.setdefault(name, []).append(seconds / this_round["se"])
        if progress:
            print(f"round {round_index + 1}/{repeats} done", file=sys.stderr)
    return {name: {"seconds": statistics.median(times[name]), "x_se": statistics.median(ratios[name])}
            for name in times}


def check(result: dict[str, dict[str, float]]) -> list[str]:
    """Failed targets: GradCAM on each modality must cost >= 2.5 x the SE explanation of all modalities."""
    return [f"gradcam:{m} is {result[f'gradcam:{m}']['x_se']:.2f} x se (target >= {SPEEDUP})"
            for m in MODALITIES if f"gradcam:{m}" in result and result[f"gradcam:{m}"]["x_se"] < SPEEDUP]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="gradcam",
                        help="grad-cam methods besides gradcam (e.g. gradcam,gradcam++,eigengradcam,fullgrad)")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", help="time this checkpoint's model instead of the default architecture")
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "gradcam" not in methods:
        methods.insert(0, "gradcam")
    result = measure(methods, args.clips, args.frames, args.repeats, args.warmup, progress=not args.json,
                     checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"ASDModel ({args.checkpoint or 'default config, random weights'}), {args.clips} clips x "
              f"{args.frames} frames, 112x112 crops, {args.threads} threads, median of {args.repeats} rotating rounds "
              f"({args.warmup} warm-up)")
        print(f"{'run':>22}  {'seconds':>9}  {'ms/clip':>9}  {'x se':>7}")
        for name, row in result.items():
            print(f"{name:>22}  {row['seconds']:9.3f}  {1000 * row['seconds'] / args.clips:9.1f}  {row['x_se']:7.2f}")
    failed = check(result)
    for line in failed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
