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

``--pretrained light-asd|lr-asd``: `explain VIDEO --pretrained` on a 1280x720 video with one real face (a real
talking head from ../shared/data/real scaled to 720x720, centred on a 1280x720 canvas, looped to
``--seconds``; made in a temporary folder), weights from ../shared/weights (or ASD_EXPLAIN_WEIGHTS).
Prints the end-to-end real-time factor (video duration / wall time: detection, SE explanation, MP4; and
video duration / CPU seconds of the run, ``real_time_factor_cpu``, which on an otherwise idle machine is a
lower bound of the wall-time factor whatever the number of cores, so it stays meaningful on a shared,
loaded machine), each stage's wall and CPU seconds (``stage_seconds``, ``stage_cpu_seconds``: audio, tracks =
decode + detection + crops, model = SE explanation + scores, render = MP4 + sheets) and the
SE explanation's time over the plain forward of the published model on the same track (best of 3 each, by
wall and by CPU seconds; occlusion off, the maps and SE importance only, and on). ``--scoring`` says which
scores the run made (multi-duration, the default: the authors' 6 windowed runs, their visual embeddings from
the explanation's pass + the cuts, ``models.windowed_faces``; single-pass: one pass).

    python benchmarks/explain_video_speed.py --pretrained light-asd --se-checkpoint RUN/checkpoints/best.pt
(``OMP_NUM_THREADS=1`` for CPU seconds without OpenMP's spin-waiting on a loaded machine)
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


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


def make_720p(clip: Path, path: Path, seconds: float) -> Path:
    """``clip`` scaled to 720x720, centred on a 1280x720 canvas, looped to ``seconds``, with its own audio."""
    import av
    import cv2

    from asd_explain.media.decode import decode_audio
    from asd_explain.media.frames import open_video
    from asd_explain.pipeline.video_writer import Mp4Writer

    frames = open_video(clip)
    pictures = [cv2.resize(f, (720, 720), interpolation=cv2.INTER_CUBIC)
                for _, f in frames.iter_frames(np.arange(len(frames)))]
    audio, _ = decode_audio(clip, 0.0, len(frames) / frames.fps, 0.0, 16000, seek=False)
    with av.open(str(clip)) as container:
        rate = container.streams.video[0].average_rate
    n = int(seconds * float(rate))
    loops = -(-n // len(pictures))
    track = np.tile(audio[:int(len(pictures) / float(rate) * 16000)], loops)[:int(n / float(rate) * 16000)]
    canvas = np.zeros((720, 1280, 3), np.uint8)
    with Mp4Writer(path, rate, 1280, 720, audio=(track.astype(np.float32), 16000)) as writer:
        for i in range(n):
            canvas[:, 280:1000] = pictures[i % len(pictures)]
            writer.write(canvas)
    return path


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its threads (the encoder's included)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _best_of(fn, repeats: int = 3) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeats`` calls."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        fn()
        wall, cpu = min(wall, time.perf_counter() - started), min(cpu, _cpu_seconds() - cpu_started)
    return wall, cpu


def pretrained_speed(args) -> dict:
    """End-to-end real-time factor on 720p and SE explanation / plain forward (module docstring)."""
    import torch

    from asd_explain.explain.map_settings import MapSettings
    from asd_explain.models.pretrained import load_pretrained
    from asd_explain.pipeline import explain_pretrained as pipeline
    from asd_explain.pipeline.pretrained_track import PretrainedSEExplainer, load_explained_model, track_inputs

    seen = {}
    real = pipeline.prepare_authors_tracks

    def recording(*a, **k):
        seen["video"] = real(*a, **k)
        return seen["video"]

    pipeline.prepare_authors_tracks = recording
    with tempfile.TemporaryDirectory() as tmp:
        video = make_720p(Path(args.clip), Path(tmp) / "one_face_720p.mp4", args.seconds)
        options = pipeline.PretrainedExplainOptions(
            model=args.pretrained, se_checkpoint=args.se_checkpoint, scoring=args.scoring,
            detect_every=args.detect_every, landmarks="none", progress=False)
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        summary = pipeline.explain_video_pretrained(video, Path(tmp) / "out", options)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    track = seen["video"].tracks[0]
    model = load_explained_model(args.pretrained, se_checkpoint=args.se_checkpoint)
    plain = load_pretrained(args.pretrained)
    faces, mfcc = track_inputs(model, track.faces, track.mfcc)
    batch = {"face": faces, "audio": mfcc}
    with torch.no_grad():
        forward = _best_of(lambda: plain(face=faces, audio=mfcc))
    timings = {}
    for occlusion in (False, True):
        explainer = PretrainedSEExplainer(model, MapSettings(occlusion=occlusion))
        timings[occlusion] = _best_of(lambda e=explainer: e.explain(batch))
    return {
        "video": "1280x720, one real face", "model": args.pretrained, "scoring": args.scoring,
        "se": "distilled" if args.se_checkpoint else "identity at init", "detect_every": args.detect_every,
        "duration_s": summary["duration_s"], "wall_s": round(wall, 2),
        "real_time_factor": round(summary["duration_s"] / wall, 3), "cpu_s": round(cpu, 2),
        "real_time_factor_cpu": round(summary["duration_s"] / cpu, 3), "stage_seconds": summary["stage_seconds"],
        "stage_cpu_seconds": summary["stage_cpu_seconds"],
        "track_frames": len(track), "plain_forward_s": round(forward[0], 4),
        "se_explain_s": round(timings[False][0], 4),
        "se_explain_over_forward": round(timings[False][0] / forward[0], 3),
        "se_explain_over_forward_cpu": round(timings[False][1] / forward[1], 3),
        "se_explain_with_occlusion_s": round(timings[True][0], 4),
        "with_occlusion_over_forward": round(timings[True][0] / forward[0], 3),
        "with_occlusion_over_forward_cpu": round(timings[True][1] / forward[1], 3),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="trained ASD checkpoint (default: an untrained default model)")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pretrained", choices=["light-asd", "lr-asd"])
    parser.add_argument("--se-checkpoint", help="with --pretrained: distilled SE blocks")
    parser.add_argument("--scoring", default="multi-duration", choices=["multi-duration", "single-pass"])
    parser.add_argument("--detect-every", type=int, default=1, help="with --pretrained: detector stride (frames)")
    parser.add_argument("--clip", default=str(REAL / "talking_head_2.mp4"))
    parser.add_argument("--range", nargs=2, type=float, metavar=("START", "END"),
                        help="also explain only [START, END) s and print its wall time against the whole video's")
    args = parser.parse_args()
    if args.pretrained:
        result = pretrained_speed(args)
        print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
        return
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
