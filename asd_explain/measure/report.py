"""Collect what ``runner`` produced into per-run results and a report over seeds: measured.json / measured.md.

Per run (recipe, seed, step point, checkpoint) ``result.json`` holds flat numbers read from the units'
outputs (``evaluate``'s metrics.json, ``occlusion.json``, each ``evidence.json``, ``compare.json``); the
report gives min / median / max over the seeds of each number, how many seeds it has, and the commands.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import atomic_write_text
from . import benchmarks, plan
from .plan import MeasureConfig


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def evidence_numbers(payload: dict[str, Any], setting: str, shares: bool = True) -> dict[str, float]:
    """Flat numbers of one explain-evidence run: pointing, audio ratios and (``shares``) the fusion SE's
    modality shares, clean and with the faces blanked (the same whatever the map setting)."""
    s, out = payload["summary"], {}
    for key in ("mouth_pointing", "gesture_pointing", "mouth_pointing_ceiling"):
        if key in s:
            out[f"{key}:{setting}"] = s[key]
    if s.get("mouth_area_share"):  # the face map's energy in the mouth box over the box's share of the crop
        out[f"mouth_energy_ratio:{setting}"] = s["mouth_energy"] / s["mouth_area_share"]
    if "mouth_peak_offset_px" in s:
        out[f"mouth_peak_dy:{setting}"], out[f"mouth_peak_dx:{setting}"] = s["mouth_peak_offset_px"]
    for key in ("audio_tf_own", "audio_own"):
        if key in s:
            out[f"{key}:{setting}"] = s[key]["ratio_of_means"]
    if "voices_map_at_map_size" in s.get("audio_tf_own", {}):  # the map of every voice, scored on the own one
        out[f"audio_tf_own_voices_map:{setting}"] = s["audio_tf_own"]["voices_map_at_map_size"]
    if shares:
        rows = payload["tracks"]
        for m in ("audio", "face", "body"):
            if rows and f"share_{m}" in rows[0]:
                out[f"share_{m}"] = float(np.mean([r[f"share_{m}"] for r in rows]))
        if "face_blanking" in s:
            out["face_share_blanked"] = s["face_blanking"]["face_share_blanked"]
            out["tracks_lowered"] = s["face_blanking"]["tracks_lowered"]
    return out


def run_result(point: Path, kind: str) -> dict[str, Any] | None:
    """The numbers and commands of one checkpoint of one point; None before its training finished."""
    train = _read(point / "train.json")
    if train is None:
        return None
    base = point / kind
    numbers: dict[str, float] = {"steps": train["best_step"] if kind == "best" else train["steps"]}
    commands = [train["command"]]
    units = {"train": train}
    metrics = _read(base / "evaluate" / "metrics.json")
    if metrics is not None:
        numbers["val_ap"] = metrics["map_percent"] / 100
    occlusion = _read(base / "occlusion" / "occlusion.json")
    if occlusion is not None:
        numbers.update({f"ap_drop:{m}": v for m, v in occlusion["ap_drop"].items()})
    for folder in sorted(base.glob("evidence-*")):
        if folder.name.endswith(".tmp"):
            continue
        payload = _read(folder / "evidence.json")
        if payload is not None:
            numbers.update(evidence_numbers(payload, folder.name.removeprefix("evidence-"),
                                            shares="share_face" not in numbers))
    compare = _read(base / "compare" / "compare.json")
    if compare is not None:
        for row in compare["summary"]:
            for key in ("insertion_auc", "deletion_auc", "ms_per_clip"):
                numbers[f"{key}:{row['modality']}:{row['method']}"] = row[key]
    for folder in sorted(p for p in base.glob("*") if p.is_dir() and not p.name.endswith(".tmp")):
        unit = _read(folder / "measure_unit.json")
        if unit is not None:
            commands.append(unit["command"])
            units[folder.name] = unit
    return {"numbers": numbers, "commands": commands, "units": units}


def collect(cfg: MeasureConfig) -> dict[str, Any]:
    """Every run's result (written as ``<point>/<kind>/result.json``) and the summary over seeds."""
    recipes = []
    for recipe in cfg.recipes:
        budget = plan.step_budget(recipe)
        points = plan.step_points(budget, cfg.fractions, cfg.budget_scale)
        rows = []
        for steps in points:
            for kind in plan.checkpoints_at(steps == points[-1]):
                runs = {}
                for seed in cfg.seeds:
                    point = plan.point_dir(cfg, recipe, seed, steps)
                    result = run_result(point, kind)
                    if result is not None:
                        atomic_write_text(point / kind / "result.json", json.dumps(result, indent=1) + "\n")
                        runs[seed] = result
                rows.append({"target_steps": steps, "fraction": steps / max(1, round(budget * cfg.budget_scale)),
                             "checkpoint": kind, "seeds": sorted(runs),
                             "missing_seeds": [s for s in cfg.seeds if s not in runs],
                             "stats": over_seeds({s: r["numbers"] for s, r in runs.items()}),
                             "commands": {str(s): r["commands"] for s, r in runs.items()},
                             "machine": {str(s): {k: {f: u.get(f) for f in ("loadavg_start", "loadavg_end",
                                                                           "cpu_count", "wall_s")}
                                                  for k, u in r["units"].items()} for s, r in runs.items()}})
        recipes.append({"recipe": plan.recipe_name(recipe), "config": str(plan.recipe_path(recipe)),
                        "step_budget": budget, "budget_scale": cfg.budget_scale, "rows": rows})
    return {"recipes": recipes, "benchmarks": benchmarks.collect(Path(cfg.out), benchmarks.select(cfg.benchmarks))}


def over_seeds(numbers: dict[int, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """{metric: {min, median, max, n, values {seed: v}}} over the seeds that have the metric (NaN skipped)."""
    keys = sorted({k for n in numbers.values() for k in n})
    stats = {}
    for key in keys:
        values = {s: float(n[key]) for s, n in numbers.items() if key in n and n[key] is not None
                  and np.isfinite(float(n[key]))}
        if not values:
            continue
        arr = np.array(list(values.values()))
        stats[key] = {"min": float(arr.min()), "median": float(np.median(arr)), "max": float(arr.max()),
                      "n": len(arr), "values": {str(s): v for s, v in values.items()}}
    return stats
