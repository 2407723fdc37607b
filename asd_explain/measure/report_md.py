"""measured.md: the summary of ``report.collect`` as tables (min / median / max over seeds) with commands."""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from ..config import atomic_write_text
from . import benchmarks
from .plan import EVIDENCE_SETTINGS

# (column title, metric key, format) of the main table; "%" formats as a percentage
COLUMNS: list[tuple[str, str, str]] = [
    ("val AP", "val_ap", ".4f"),
    ("AP drop, faces blanked", "ap_drop:face", "+.3f"),
    ("AP drop, bodies blanked", "ap_drop:body", "+.3f"),
    ("AP drop, audio blanked", "ap_drop:audio", "+.3f"),
    ("face share (clean)", "share_face", ".3f"),
    ("face share, faces blanked", "face_share_blanked", ".3f"),
    ("mouth pointing, motion", "mouth_pointing:motion", "%"),
    ("mouth energy / box share, motion", "mouth_energy_ratio:motion", ".1f"),
    ("mouth, clip-mean", "mouth_pointing:clip-mean", "%"),
    ("mouth, speaking", "mouth_pointing:speaking", "%"),
    ("mouth, **paper**", "mouth_pointing:paper", "%"),
    ("audio in own voice (t-f), speaking ref", "audio_tf_own:motion", ".2f"),
    ("audio, **paper**", "audio_tf_own:paper", ".2f"),
]


def _fmt(value: float, fmt: str) -> str:
    return f"{100 * value:.1f}%" if fmt == "%" else format(value, fmt)


def cell(stats: dict[str, Any], key: str, fmt: str) -> str:
    """'min / median / max' over seeds (one value when one seed); '' when not measured."""
    s = stats.get(key)
    if s is None:
        return ""
    if s["n"] == 1:
        return _fmt(s["min"], fmt)
    return " / ".join(_fmt(s[k], fmt) for k in ("min", "median", "max"))


def _shares(stats: dict[str, Any]) -> str:
    parts = [_fmt(stats[f"share_{m}"]["median"], ".2f") for m in ("audio", "face", "body") if f"share_{m}" in stats]
    return " / ".join(parts)


def _load(row: dict[str, Any]) -> str:
    """Training wall time and the 1-min load average at its start -> end, per seed."""
    out = []
    for seed, units in row["machine"].items():
        train = units.get("train") or {}
        if train.get("loadavg_start"):
            out.append(f"s{seed}: {train['wall_s'] / 60:.1f} min, load {train['loadavg_start'][0]:.1f}->"
                       f"{train['loadavg_end'][0]:.1f}")
    return "; ".join(out)


def recipe_table(recipe: dict[str, Any]) -> list[str]:
    head = ["row", "point", "ckpt", "seeds", "steps"] + [c[0] for c in COLUMNS] + ["shares a / f / b (median)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in enumerate(recipe["rows"], 1):
        stats = row["stats"]
        seeds = f"{len(row['seeds'])}" + (f" (missing {', '.join(map(str, row['missing_seeds']))})"
                                           if row["missing_seeds"] else "")
        cells = [str(i), f"{100 * row['fraction']:.0f}% ({row['target_steps']})", row["checkpoint"], seeds,
                 cell(stats, "steps", ".0f")]
        cells += [cell(stats, key, fmt) for _, key, fmt in COLUMNS] + [_shares(stats)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def compare_table(recipe: dict[str, Any]) -> list[str]:
    keys = sorted({k for row in recipe["rows"] for k in row["stats"] if k.startswith("insertion_auc:")})
    if not keys:
        return []
    lines = ["", "Insertion (min / median / max over seeds) and ms per clip (median), `asd-explain compare`:", "",
             "| ckpt | modality | method | insertion | deletion | ms/clip |", "|---|---|---|---|---|---|"]
    for row in recipe["rows"]:
        for key in keys:
            if key not in row["stats"]:
                continue
            _, modality, method = key.split(":")
            ms = row["stats"].get(f"ms_per_clip:{modality}:{method}")
            ms_text = "" if ms is None else f"{ms['median']:.0f}"
            lines.append(f"| {row['checkpoint']} | {modality} | {method} | {cell(row['stats'], key, '.4f')} | "
                         f"{cell(row['stats'], f'deletion_auc:{modality}:{method}', '.4f')} | "
                         f"{ms_text} |")
    return lines


def commands_section(recipe: dict[str, Any]) -> list[str]:
    lines = ["", f"Commands of each row of `{recipe['recipe']}` (first seed measured; the other seeds differ only "
             "in `seed=` and the run folder; measured.json has every seed's) and training time / machine load:", ""]
    for i, row in enumerate(recipe["rows"], 1):
        if not row["seeds"]:
            lines.append(f"- row {i}: not run yet")
            continue
        first = str(row["seeds"][0])
        lines.append(f"- row {i} ({_load(row)}):")
        lines += [f"  - `{c}`" for c in row["commands"][first]]
    return lines


def write_report(summary: dict[str, Any], docs: Path, *, command: str, settings: dict[str, Any]) -> tuple[Path, Path]:
    """docs/measured.json (everything) and docs/measured.md (tables, commands), atomically."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    payload = {"generated": now, "command": command, "settings": settings, "cpu_count": os.cpu_count(), **summary}
    json_path, md_path = docs / "measured.json", docs / "measured.md"
    atomic_write_text(json_path, json.dumps(payload, indent=1) + "\n")
    expected = sum(len(s["rows"]) for s in summary["recipes"]) * len(settings.get("seeds", ())) or 1
    have = sum(len(r["seeds"]) for s in summary["recipes"] for r in s["rows"])
    lines = ["# Measured claims (generated: do not edit by hand)", "",
             f"Generated {now} by `{command}` on {os.cpu_count()} CPUs. {have} of {expected} runs "
             "(recipe x seed x point x checkpoint) measured; a cell is min / median / max over the seeds that "
             "have it (one value for one seed). The command resumes: run it again to fill what is missing.", "",
             "Map settings (`explain-evidence`): " + "; ".join(
                 f"**{name}** `{' '.join(args) or '(defaults: --reference zero --z 1.282 --interpolation bicubic)'}`"
                 for name, args in EVIDENCE_SETTINGS.items()) + ". The **paper** columns are the paper's own "
             "settings (the baseline). Mouth pointing: face-map maximum in the mouth box on correctly scored "
             "speaking frames (mouth energy / box share: the map's energy in the box over the box's share of the "
             "crop, 1 = chance; measured.json also has the maximum's median offset from the box centre); audio: "
             "attention mass in the time-frequency bins of the track's own voice over their share (2x = twice chance). "
             "AP drop: val AP minus val AP with that modality's input blanked "
             "(`asd-explain occlusion`). Steps: the step each checkpoint was saved at (best.pt: best val AP so far).",
             ""]
    for recipe in summary["recipes"]:
        lines += [f"## `{recipe['config']}` (step budget {recipe['step_budget']} x {recipe['budget_scale']:g})", ""]
        lines += recipe_table(recipe) + compare_table(recipe) + commands_section(recipe) + [""]
    lines += benchmarks.markdown(summary.get("benchmarks", []))
    atomic_write_text(md_path, "\n".join(lines))
    return md_path, json_path
