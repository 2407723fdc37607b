"""Run the units of a measurement (``plan``): prepare, train by resuming, check every checkpoint. Resumable.

Every unit either produces its output whole or not at all: a check runs into ``<dir>.tmp`` (emptied first)
and is renamed to ``<dir>`` when its command succeeded, with ``measure_unit.json`` (command, machine load
at start and end, CPU count, wall time) inside; a training point is done when ``<point>/train.json`` exists
(written after the two checkpoints were copied beside it). A rerun skips what is done, so a ``kill -9``
loses at most the unit in progress (a training resumes from its last ``last.pt``, at most
``checkpoint_every_steps`` steps back).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import atomic_write_text
from ..train.checkpoint import load_checkpoint
from . import benchmarks, plan
from .plan import CHECKPOINTS, MeasureConfig

ROOT = Path(__file__).resolve().parents[2]  # the checkout whose commands are measured
PROGRAMS = {"asd-explain": "asd_explain.cli.main", "asd-prep": "data_prep.cli"}


@dataclass
class RunLog:
    """What a call of ``run_measurement`` did: units run, units found done, failures (unit, reason)."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def machine() -> dict[str, Any]:
    return {"loadavg": [round(v, 2) for v in os.getloadavg()], "cpu_count": os.cpu_count()}


def run_cli(program: str, args: list[str], *, quiet: bool = False) -> dict[str, Any]:
    """Run ``program args`` (as ``python -m``); a RuntimeError with the command and the output's tail on failure.

    Returns the unit record: command, machine load at start and end, wall seconds."""
    start, tick = machine(), time.monotonic()
    proc = subprocess.run([sys.executable, "-m", PROGRAMS[program], *args], env=benchmarks.child_env(ROOT),
                          stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
                          text=True)
    if proc.returncode != 0:
        tail = (proc.stdout or "").strip().splitlines()[-1:] if quiet else []
        raise RuntimeError(f"exit {proc.returncode}: {plan.shell(program, args)}" + (f" ({tail[0]})" if tail else ""))
    end = machine()
    return {"command": plan.shell(program, args), "wall_s": round(time.monotonic() - tick, 1),
            "loadavg_start": start["loadavg"], "loadavg_end": end["loadavg"], "cpu_count": end["cpu_count"]}


def _swap_out(args: list[str], out: Path, tmp: Path) -> list[str]:
    """``args`` with the value of ``--out`` replaced by ``tmp``."""
    i = args.index("--out")
    return [*args[:i + 1], str(tmp), *args[i + 2:]]


def run_into(program: str, args: list[str], out: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run a command whose ``--out`` is ``out`` into ``out.tmp``, then rename it to ``out`` (atomic unit)."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    record = run_cli(program, _swap_out(args, out, tmp), quiet=quiet)
    record["command"] = plan.shell(program, args)  # the command with its real output folder
    atomic_write_text(tmp / "measure_unit.json", json.dumps(record, indent=1) + "\n")
    os.replace(tmp, out)
    return record


def atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def copy_unit(src: Path, out: Path, old: str, new: str) -> None:
    """A finished unit copied whole to ``out`` (atomic), its recorded command naming ``new`` for ``old``:
    the checks of last.pt when it is the same checkpoint as best.pt (training ended on its best step)."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    record = json.loads((tmp / "measure_unit.json").read_text())
    record.update(command=record["command"].replace(old, new).replace(f"/{src.parent.name}/", f"/{out.parent.name}/"),
                  copied_from=str(src))
    atomic_write_text(tmp / "measure_unit.json", json.dumps(record, indent=1) + "\n")
    os.replace(tmp, out)


def prepare_data(cfg: MeasureConfig, log: RunLog, say: Callable[[str], None]) -> None:
    """The corpora (made into ``<folder>.tmp``, renamed when whole) and their stores (``asd-prep wasd``
    resumes by itself; a marker beside the run folders says a store is finished)."""
    marks = Path(cfg.data) / ".prepared"
    for folder, args in plan.prep_commands(cfg):
        name = f"prep {folder}"
        if args[0] == "synth":
            if folder.exists():
                log.skipped.append(name)
                continue
            say(f"{name}: {plan.shell('asd-prep', args)}")
            run_into("asd-prep", args, folder, quiet=cfg.quiet)
        else:
            mark = marks / (folder.as_posix().replace("/", "_") + ".json")
            if mark.exists():
                log.skipped.append(name)
                continue
            say(f"{name}: {plan.shell('asd-prep', args)}")
            record = run_cli("asd-prep", args + (["--quiet"] if cfg.quiet else []), quiet=cfg.quiet)
            atomic_write_text(mark, json.dumps(record, indent=1) + "\n")
        log.ran.append(name)


# set by the runner for every point (``plan.train_args``), so not part of what a run folder was trained with
BUDGET_KEYS = (("optim", "max_steps"), ("optim", "max_time_s"))


def recipe_settings_sha256(path: Path) -> str:
    """sha256 of the recipe's settings (the YAML as parsed, keys sorted): an edited comment leaves it as is."""
    return _sha(yaml.safe_load(path.read_text()))


def recipe_training(path: Path) -> dict[str, Any]:
    """The recipe's settings a run folder's training depends on: the YAML as parsed, flattened to dotted keys,
    without the step budget and time limit (the runner sets both for every point, so a run folder serves any
    budget: the LR decays per epoch and the batches are a function of (seed, epoch))."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = node

    walk(yaml.safe_load(path.read_text()) or {}, "")
    for key in BUDGET_KEYS:
        flat.pop(".".join(key), None)
    return dict(sorted(flat.items()))


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _differences(have: dict[str, Any], want: dict[str, Any]) -> str:
    keys = sorted(k for k in have.keys() | want.keys() if have.get(k, "(unset)") != want.get(k, "(unset)"))
    shown = "; ".join(f"{k}: {have.get(k, '(unset)')!r} in the run, {want.get(k, '(unset)')!r} in the recipe"
                      for k in keys[:3])
    return shown + (f"; {len(keys) - 3} more" if len(keys) > 3 else "")


def check_recipe(cfg: MeasureConfig, recipe: str, seed: int) -> None:
    """Record the recipe a run folder is trained with (``recipe.json``: its training settings, their sha256 and
    the overrides); a one-line error naming what differs when the folder was made with other settings, so an
    edited recipe never resumes an old run. An edited comment or step budget resumes it (``recipe_training``).
    Older stamps (a hash of all settings, or of the file's bytes) are compared on what they hashed and, when
    they match, upgraded.
    """
    folder = plan.run_dir(cfg, recipe, seed)
    path = plan.recipe_path(recipe)
    training = recipe_training(path)
    want = {"recipe": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "settings_sha256": recipe_settings_sha256(path), "training_sha256": _sha(training),
            "training": training, "overrides": list(cfg.overrides)}
    stamp = folder / "recipe.json"
    if stamp.exists():
        have = json.loads(stamp.read_text())
        key = next((k for k in ("training_sha256", "settings_sha256") if k in have), "sha256")
        if (have.get(key), have.get("overrides")) != (want[key], want["overrides"]):
            if have.get(key) == want[key]:
                what = "other --set overrides"
            elif "training" in have:
                what = _differences(have["training"], training)
            else:
                what = "another version of the recipe"
            raise ValueError(f"{folder}: trained with other settings than {path} ({what}; recipe.json); "
                             f"move the folder away or measure into another --out")
        if key != "training_sha256":
            atomic_write_text(stamp, json.dumps(want, indent=1) + "\n")
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stamp, json.dumps(want, indent=1) + "\n")


def trained_to(run: Path) -> int:
    """The step a run folder's ``last.pt`` is at (0 before its first checkpoint)."""
    last = run / "train" / "checkpoints" / "last.pt"
    return load_checkpoint(last)["progress"]["step"] if last.exists() else 0


def train_point(cfg: MeasureConfig, recipe: str, seed: int, steps: int, log: RunLog,
                say: Callable[[str], None]) -> Path:
    """Train (resuming) to ``steps``; copy best.pt / last.pt into the point's folder; write train.json.

    A point below where the seed's run already is (the budget was lowered) is trained afresh in the point's own
    run folder (``<point>/run``, same recipe and seed; its checkpoints are removed once copied)."""
    check_recipe(cfg, recipe, seed)
    point = plan.point_dir(cfg, recipe, seed, steps)
    name = f"{plan.recipe_name(recipe)} seed {seed} train to {steps}"
    if (point / "train.json").exists():
        log.skipped.append(name)
        return point
    run = plan.run_dir(cfg, recipe, seed)
    replay = trained_to(run) > steps
    if replay:
        run = point / "run"
        name += f" (afresh in {run}: the seed's run is past it)"
    args = plan.train_args(cfg, recipe, seed, steps, run / "train")
    say(f"{name}: {plan.shell('asd-explain', args)}")
    record = run_cli("asd-explain", args, quiet=cfg.quiet)
    checkpoints = run / "train" / "checkpoints"
    last = load_checkpoint(checkpoints / "last.pt")["progress"]
    if last["step"] > steps:
        raise RuntimeError(f"{checkpoints / 'last.pt'}: already at step {last['step']}, past {steps}; "
                           "remove the run folder to measure again")
    point.mkdir(parents=True, exist_ok=True)
    for kind in CHECKPOINTS:
        atomic_copy(checkpoints / f"{kind}.pt", point / f"{kind}.pt")
    best = load_checkpoint(point / "best.pt")["progress"]
    record.update(target_steps=steps, steps=last["step"], epochs=last["epoch"], elapsed_s=last["elapsed_s"],
                  cpu_s=last["cpu_s"], last_val_ap=last["last_val_ap"], best_step=best["step"],
                  best_val_ap=best["best_val_ap"], trained_afresh=replay)
    atomic_write_text(point / "train.json", json.dumps(record, indent=1) + "\n")
    if replay:
        shutil.rmtree(checkpoints)  # copied beside the point; the run's log and config stay
    log.ran.append(name)
    return point


def checks_of(cfg: MeasureConfig, point: Path, last_point: bool) -> list[tuple[str, Path, list[str]]]:
    """(unit name, output folder, argv after asd-explain) of every check of both checkpoints of a point."""
    units = []
    for kind in plan.checkpoints_at(last_point):
        ckpt, base = point / f"{kind}.pt", point / kind
        units.append((f"{kind} evaluate", base / "evaluate", plan.check_args(cfg, ckpt, base / "evaluate", "evaluate")))
        units.append((f"{kind} occlusion", base / "occlusion", plan.check_args(cfg, ckpt, base / "occlusion",
                                                                              "occlusion")))
        for setting in cfg.settings:
            out = base / f"evidence-{setting}"
            units.append((f"{kind} evidence {setting}", out, plan.check_args(cfg, ckpt, out, "evidence", setting)))
        if cfg.compare and last_point:
            units.append((f"{kind} compare", base / "compare", plan.check_args(cfg, ckpt, base / "compare",
                                                                              "compare")))
    return units


def run_benchmarks(cfg: MeasureConfig, log: RunLog, say: Callable[[str], None]) -> None:
    """The scripts of ``benchmarks/`` (``cfg.benchmarks``), each a unit in ``<out>/benchmarks/<name>``."""
    root = ROOT
    for bench in benchmarks.select(cfg.benchmarks):
        out = Path(cfg.out) / "benchmarks" / bench.name
        unit = f"benchmark {bench.name}"
        if out.exists() and not (bench.needs_shared and benchmarks.shared_dir(root).is_dir()
                                 and "skipped" in json.loads((out / "measure_unit.json").read_text())):
            log.skipped.append(unit)  # done (one skipped for want of ../shared runs once it is there)
            continue
        shutil.rmtree(out, ignore_errors=True)
        if not (root / bench.argv()[0]).is_file():
            log.failed.append((unit, f"{root / bench.argv()[0]}: not found (run measure from a source checkout)"))
            continue
        say(f"{unit}: python {' '.join(bench.argv())}")
        try:
            record = benchmarks.run_benchmark(bench, out.resolve(), root)
        except (RuntimeError, OSError) as err:
            log.failed.append((unit, str(err)))
            say(f"FAILED: {err}")
            continue
        if record.get("skipped"):
            say(f"{unit}: skipped ({record['skipped']})")
        log.ran.append(unit)


def run_measurement(cfg: MeasureConfig, say: Callable[[str], None] = print) -> RunLog:
    """Every unit of ``cfg`` not done yet, in order (prep, then per recipe and seed: points ascending)."""
    log = RunLog()
    run_benchmarks(cfg, log, say)
    if cfg.recipes:
        prepare_data(cfg, log, say)
    for recipe in cfg.recipes:
        points = plan.step_points(plan.step_budget(recipe), cfg.fractions, cfg.budget_scale)
        for seed in cfg.seeds:
            for steps in points:
                try:
                    point = train_point(cfg, recipe, seed, steps, log, say)
                except (RuntimeError, OSError, ValueError) as err:
                    log.failed.append((f"{plan.recipe_name(recipe)} seed {seed} train to {steps}", str(err)))
                    say(f"FAILED: {err}")
                    break  # later points of this seed resume from this one
                same = json.loads((point / "train.json").read_text())["best_step"] == steps
                for name, out, args in checks_of(cfg, point, steps == points[-1]):
                    unit = f"{plan.recipe_name(recipe)} seed {seed} step {steps} {name}"
                    if out.exists():
                        log.skipped.append(unit)
                        continue
                    twin = point / "best" / out.name
                    try:
                        if same and out.parent.name == "last" and twin.is_dir():
                            say(f"{unit}: last.pt is best.pt, results copied from {twin}")
                            copy_unit(twin, out, "best.pt", "last.pt")
                        else:
                            say(f"{unit}: {plan.shell('asd-explain', args)}")
                            run_into("asd-explain", args, out, quiet=cfg.quiet)
                        log.ran.append(unit)
                    except (RuntimeError, OSError) as err:
                        log.failed.append((unit, str(err)))
                        say(f"FAILED: {err}")
    return log
