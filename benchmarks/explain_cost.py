"""Cost of one explanation per method, as a ratio to the plain no-grad forward of the same model and batch.

Model: torchvision resnet18 + one SE block (``attach_se``), random weights (cost does not depend on
them), eval mode; input: a batch of ``--batch`` images of ``--size`` x ``--size`` (default 16 x 128 x 128,
the ``shapes`` image size). Timed per method, from one run:
  forward   the plain forward under ``torch.no_grad()`` (the baseline);
  se        ``SEExplainer.explain``: one no-grad forward + SE heatmaps of the whole batch;
  gradcam, gradcam++, eigengradcam, fullgrad, eigencam, layercam, scorecam: grad-cam's methods via
            ``make_explainer`` (target layer: the SE block's output; FullGrad: all biases).
Every method gets ``--warmup`` untimed runs, then ``--repeats`` rounds; in each round the methods run
one after another in an order that rotates from round to round, so machine load is shared fairly.
``seconds`` is the median over a method's rounds; ``ratio_to_forward`` the median over rounds of its
time divided by the forward's time in the same round (robust to load that drifts between rounds).
ScoreCAM (1 + C forwards per image) gets ``--scorecam-repeats`` rounds and no warm-up.

    python benchmarks/explain_cost.py            # table
    python benchmarks/explain_cost.py --json     # {"forward": {"seconds": .., "ratio_to_forward": 1.0}, ...}
    python benchmarks/explain_cost.py --check    # exit 1 unless se <= 1.10x forward, gradcam >= 2.5x se,
                                                 # fullgrad >= 10x se
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Callable

import torch
import torchvision

from asd_explain.explain.baselines import EXPLAINER_NAMES, make_explainer
from asd_explain.se.attach import attach_se

TARGETS = (("se", "forward", 1.10, "se <= 1.10 x forward"),)
SPEEDUPS = (("gradcam", 2.5), ("fullgrad", 10.0))  # method must cost >= this many times se


def build_model(size: int) -> torch.nn.Module:
    model = torchvision.models.resnet18(weights=None, num_classes=6)
    attach_se(model, example_input=torch.zeros(1, 3, size, size))
    return model.eval()


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(methods: list[str], batch: int, size: int, repeats: int, warmup: int, scorecam_repeats: int,
            progress: bool) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    model = build_model(size)
    x = torch.randn(batch, 3, size, size)
    runs: dict[str, Callable[[], object]] = {}

    def plain_forward() -> object:
        with torch.no_grad():
            return model(x)

    runs["forward"] = plain_forward
    explainers = {m: make_explainer(m, model) for m in methods}
    for name, explainer in explainers.items():
        runs[name] = lambda e=explainer: e.explain(x)
    times: dict[str, list[float]] = {name: [] for name in runs}
    ratios: dict[str, list[float]] = {name: [] for name in runs}  # per round: time / that round's forward
    try:
        for name, fn in runs.items():
            for _ in range(0 if name == "scorecam" else warmup):
                fn()
        names = list(runs)
        for round_index in range(repeats):
            shift = round_index % len(names)
            this_round = {}
            for name in names[shift:] + names[:shift]:
                if name == "scorecam" and len(times[name]) >= scorecam_repeats:
                    continue
                this_round[name] = timed(runs[name])
            for name, seconds in this_round.items():
                times[name].append(seconds)
                ratios[name].append(seconds / this_round["forward"])
            if progress:
                print(f"round {round_index + 1}/{repeats} done", file=sys.stderr)
    finally:
        for explainer in explainers.values():
            explainer.close()
    return {name: {"seconds": statistics.median(times[name]), "ratio_to_forward": statistics.median(ratios[name])}
            for name in runs}


def check(result: dict[str, dict[str, float]]) -> list[str]:
    """Failed targets (empty = all met), for the methods that were measured."""
    failed = []
    if "se" in result and result["se"]["ratio_to_forward"] > 1.10:
        failed.append(f"se costs {result['se']['ratio_to_forward']:.3f} x forward (target <= 1.10)")
    for method, factor in SPEEDUPS:
        if method in result and "se" in result:
            speedup = result[method]["ratio_to_forward"] / result["se"]["ratio_to_forward"]
            if speedup < factor:
                failed.append(f"{method} is {speedup:.2f} x se (target >= {factor})")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(EXPLAINER_NAMES),
                        help="comma-separated explainers (default: all)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--scorecam-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by method")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in EXPLAINER_NAMES]
    if unknown:
        parser.error(f"unknown method {unknown[0]!r} (valid: {', '.join(EXPLAINER_NAMES)})")
    result = measure(methods, args.batch, args.size, args.repeats, args.warmup, args.scorecam_repeats,
                     progress=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"resnet18 + SE, batch {args.batch} x 3 x {args.size} x {args.size}, {args.threads} threads, "
              f"median of {args.repeats} interleaved rounds ({args.warmup} warm-up)")
        print(f"{'method':>13}  {'seconds':>9}  {'ms/image':>9}  {'x forward':>9}  {'x se':>7}")
        for name, row in result.items():
            per_se = row["ratio_to_forward"] / result["se"]["ratio_to_forward"] if "se" in result else float("nan")
            print(f"{name:>13}  {row['seconds']:9.4f}  {1000 * row['seconds'] / args.batch:9.2f}  "
                  f"{row['ratio_to_forward']:9.3f}  {per_se:7.2f}")
    failed = check(result)
    for line in failed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
