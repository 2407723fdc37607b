"""Model size, GFLOPs per frame and CPU inference speed of the ASD model (all three streams, batched).

Prints, for the default light face + body + audio model with SE (and for the BIAS-like ResNet18 option as
the baseline measured in the same run): parameters, GFLOPs per video frame (convolutions and matrix
products counted by torch.utils.flop_counter; one multiply-add = 2 FLOPs), and frames per second of
no-grad inference on CPU with ``--threads`` threads. Targets (issue 6): default model <= 2.5M parameters and
>= 250 frames/s with 2 threads.

    python benchmarks/model_speed.py                  # 2 threads, batch 8 clips x 32 frames
    python benchmarks/model_speed.py --threads 1 --clips 4 --frames 25
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from asd_explain.models import ASDModel, ModelConfig

TARGET_FPS = 250.0
TARGET_PARAMETERS = 2_500_000


def make_batch(config: ModelConfig, clips: int, frames: int, size: int = 112) -> dict[str, torch.Tensor]:
    """Random inputs of the loader's shapes: crops (B, T, C, size, size), audio (B, 4T, F)."""
    batch = {}
    if "face" in config.modalities:
        batch["face"] = torch.randn(clips, frames, config.face_channels, size, size)
    if "body" in config.modalities:
        batch["body"] = torch.randn(clips, frames, config.body_channels, size, size)
    if "audio" in config.modalities:
        batch["audio"] = torch.randn(clips, 4 * frames, config.n_audio_features)
    return batch


def gflops_per_frame(model: ASDModel, batch: dict[str, torch.Tensor]) -> float:
    frames = next(iter(batch.values())).shape[0] * batch["face" if "face" in batch else "body"].shape[1]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(**batch)
    return counter.get_total_flops() / frames / 1e9


def frames_per_second(model: ASDModel, batch: dict[str, torch.Tensor], repeats: int, warmup: int = 2) -> float:
    """Median over ``repeats`` timed forwards (after ``warmup``) of frames per second."""
    clips, frames = batch["face" if "face" in batch else "body"].shape[:2]
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(**batch)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return clips * frames / statistics.median(times)


def measure(name: str, config: ModelConfig, clips: int, frames: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = ASDModel(config).eval()
    batch = make_batch(config, clips, frames)
    row = {"params": model.num_parameters(), "gflops": gflops_per_frame(model, batch),
           "fps": frames_per_second(model, batch, repeats)}
    print(f"{name:<34} {row['params'] / 1e6:8.3f} M {row['gflops']:10.3f} {row['fps']:12.1f}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clips", type=int, default=8, help="clips per batch")
    parser.add_argument("--frames", type=int, default=32, help="frames per clip")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="skip the ResNet18 baseline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU inference, {args.threads} thread(s), batch {args.clips} clips x {args.frames} frames, 112x112 crops")
    print(f"{'model':<34} {'params':>10} {'GFLOPs/fr':>10} {'frames/s':>12}")
    light = measure("light face+body+audio, SE", ModelConfig(), args.clips, args.frames, args.repeats)
    measure("light face+body+audio, no SE", ModelConfig(se=False), args.clips, args.frames, args.repeats)
    if not args.no_baseline:
        resnet = ModelConfig(visual_encoder="resnet18", audio_encoder="resnet18", audio_feature="mfcc",
                             n_audio_features=13, temporal="attention", temporal_hidden=256, attention_heads=8)
        base = measure("baseline: resnet18 (BIAS-like), SE", resnet, max(1, args.clips // 4),
                       max(4, args.frames // 2), max(3, args.repeats // 2))
        print(f"speed-up of the light model over the baseline: {light['fps'] / base['fps']:.1f}x; "
              f"FLOPs ratio {base['gflops'] / light['gflops']:.1f}x")
    ok_params = light["params"] <= TARGET_PARAMETERS
    ok_fps = light["fps"] >= TARGET_FPS
    print(f"default model: {light['params']:,} parameters (target <= {TARGET_PARAMETERS:,}: "
          f"{'PASS' if ok_params else 'FAIL'}), {light['fps']:.0f} frames/s "
          f"(target >= {TARGET_FPS:.0f}: {'PASS' if ok_fps else 'FAIL'}, ratio {light['fps'] / TARGET_FPS:.2f})")


if __name__ == "__main__":
    main()
