"""Write a comparison of explainers: markdown table, CSV, JSON, per-image CSV, PNG grid and curves.

Files (all written atomically into ``out_dir``):
  compare.md      the table people read, with the settings under it;
  compare.csv     one row per method: the metrics and the settings used;
  compare.json    {"settings", "info", "methods": {name: summary}, "curves": {name: mean curves}};
  per_image.csv   one row per (method, image): label, prediction, AUCs, pointing hit, energy;
  compare_grid.png  the same images explained by every method (mask outlined when known);
  curves.png      mean Deletion and Insertion curves per method.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..config import atomic_save_figure, atomic_write_text
from .render import draw_mask_outline, overlay_heatmap, save_grid

SUMMARY_COLUMNS = ("method", "images", "deletion_auc", "insertion_auc", "pointing_game_pct", "energy_in_mask",
                   "ms_per_explanation")
SETTING_COLUMNS = ("step", "n_steps", "deletion_baseline", "insertion_baseline", "blur_kernel", "blur_sigma",
                   "score", "target_layer", "pointing_tolerance_px", "batch_size", "device")
PER_IMAGE_COLUMNS = ("method", "index", "label", "predicted", "deletion_auc", "insertion_auc", "pointing_hit",
                     "energy_in_mask")


def report_settings(result) -> dict[str, Any]:
    """The settings that every number of the report depends on."""
    cfg = result.config
    curve = next(iter(result.curves.values()), {}).get("deletion", [])
    step = _resolved_step(result)
    return {
        "methods": list(cfg.methods), "images": result.info.get("images"), "batch_size": cfg.batch_size,
        "target_layer": cfg.target_layer or "SE block output (se_explain)", "step": step,
        "n_steps": len(curve) - 1 if curve else None,
        **{k: v for k, v in asdict(cfg.causal).items() if k not in ("step", "batch_size")},
        "metric_batch_size": cfg.causal.batch_size,
        "score": "softmax probability of the clean top-1 class", "explained_class": "predicted (top-1)",
        "pointing_tolerance_px": cfg.pointing_tolerance_px, "device": result.info.get("device"),
        "auc": "trapezoid over evenly spread fractions: (sum - first/2 - last/2) / n_steps",
    }


def _resolved_step(result) -> int | None:
    return result.info.get("step") or result.config.causal.step


def write_report(result, out_dir: Path, *, grid: dict[str, Any] | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> dict[str, Path]:
    """Write every report file; returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = report_settings(result)
    summaries = result.summaries()
    paths = {
        "json": out_dir / "compare.json", "csv": out_dir / "compare.csv", "markdown": out_dir / "compare.md",
        "per_image": out_dir / "per_image.csv",
    }
    payload = {"settings": settings, "info": result.info, "methods": {s["method"]: s for s in summaries},
               "curves": result.curves}
    atomic_write_text(paths["json"], json.dumps(payload, indent=2))
    rows = [{**s, **{k: settings.get(k) for k in SETTING_COLUMNS}} for s in summaries]
    atomic_write_text(paths["csv"], _csv_text(SUMMARY_COLUMNS + SETTING_COLUMNS, rows))
    per_image = [{"method": m.name, **row} for m in result.methods.values() for row in m.rows]
    atomic_write_text(paths["per_image"], _csv_text(PER_IMAGE_COLUMNS, per_image))
    atomic_write_text(paths["markdown"], markdown_report(summaries, settings, result.info))
    if result.curves:
        paths["curves"] = plot_curves(result.curves, out_dir / "curves.png")
    if grid:
        paths["grid"] = write_grid(grid, out_dir / "compare_grid.png", mean, std, result.info.get("classes"))
    return paths


def markdown_report(summaries: Sequence[dict[str, Any]], settings: dict[str, Any], info: dict[str, Any]) -> str:
    table = methods_table(summaries)
    lines = ["# Explainer comparison", ""]
    if info.get("checkpoint"):
        lines.append(f"Model `{info.get('arch')}` (SE: {info.get('se')}) from `{info['checkpoint']}`; "
                     f"dataset `{info.get('dataset')}` split `{info.get('split')}`, {info.get('images')} images.")
        lines.append("")
    lines.append("| " + " | ".join(table[0]) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(table[0]) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    lines += se_relative_lines(summaries)
    lines += ["", "Settings:", ""]
    lines += [f"- {key}: {value}" for key, value in settings.items()]
    lines += ["", "Deletion: lower is better; Insertion, pointing game, energy in mask: higher is better. "
              "ms / explanation: the explainer's own time (its forward and backward passes) per image, "
              "methods interleaved batch by batch.", ""]
    return "\n".join(lines)


def se_relative_lines(summaries: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown lines: SE minus each other method (AUCs, pointing points) and how many times faster SE is."""
    by_name = {s["method"]: s for s in summaries}
    se = by_name.get("se")
    others = [s for s in summaries if s["method"] != "se"]
    if se is None or not others:
        return []

    def diff(key: str, other: dict[str, Any], digits: int) -> str:
        if se[key] is None or other[key] is None:
            return "n/a"
        return f"{se[key] - other[key]:+.{digits}f}"

    lines = ["", "SE relative to each method (SE minus method; speed-up = method ms / SE ms):", "",
             "| method | insertion | deletion | pointing game (points) | energy in mask | SE speed-up |",
             "|---|---:|---:|---:|---:|---:|"]
    for other in others:
        speedup = other["ms_per_explanation"] / se["ms_per_explanation"] if se["ms_per_explanation"] else None
        lines.append(f"| {other['method']} | {diff('insertion_auc', other, 4)} | {diff('deletion_auc', other, 4)} | "
                     f"{diff('pointing_game_pct', other, 1)} | {diff('energy_in_mask', other, 3)} | "
                     f"{'n/a' if speedup is None else f'{speedup:.2f}x'} |")
    return lines


def _csv_text(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buffer.getvalue()


def to_uint8_images(images: torch.Tensor, mean: Sequence[float] | None, std: Sequence[float] | None) -> np.ndarray:
    """(N, C, H, W) normalised -> (N, H, W, 3) uint8 RGB (1-channel inputs are repeated)."""
    x = images.detach().float().cpu()
    if mean is not None and std is not None:
        x = x * torch.tensor(std).view(1, -1, 1, 1) + torch.tensor(mean).view(1, -1, 1, 1)
    else:  # unknown normalisation: stretch each image to [0, 1]
        lo = x.flatten(1).min(1).values.view(-1, 1, 1, 1)
        hi = x.flatten(1).max(1).values.view(-1, 1, 1, 1)
        x = (x - lo) / (hi - lo).clamp_min(1e-12)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return x[:, :3].clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()


def write_grid(grid: dict[str, Any], path: Path, mean=None, std=None, classes: Sequence[str] | None = None) -> Path:
    """Rows = images; columns = the input (mask outlined) then each method's heatmap overlay."""
    pictures = to_uint8_images(grid["images"], mean, std)
    masks = grid.get("masks")
    rows, titles = [], []
    for i, picture in enumerate(pictures):
        first = picture
        if masks is not None and bool(masks[i].any()):
            first = draw_mask_outline(picture, masks[i].numpy())
        rows.append([first] + [overlay_heatmap(picture, maps[i]) for maps in grid["maps"].values()])
        titles.append(_row_title(grid, i, classes))
    return save_grid(path, rows, row_titles=titles, col_titles=["input", *grid["maps"]])


def _row_title(grid: dict[str, Any], i: int, classes: Sequence[str] | None) -> str:
    def name(k: int) -> str:
        return classes[k] if classes and 0 <= k < len(classes) else str(k)

    label = int(grid["labels"][i])
    if grid.get("predicted") is None:
        return name(label)
    predicted = int(grid["predicted"][i])
    return name(predicted) + ("" if predicted == label else f" ({name(label)})")


def plot_curves(curves: dict[str, dict[str, list[float]]], path: Path) -> Path:
    """Mean Deletion and Insertion curves per method, side by side (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind in zip(axes, ("deletion", "insertion"), strict=True):
        for method, by_kind in curves.items():
            values = by_kind[kind]
            ax.plot(np.linspace(0, 1, len(values)), values, label=method)
        ax.set_title(f"{kind.capitalize()} (mean over images)")
        ax.set_xlabel("fraction of pixels " + ("removed" if kind == "deletion" else "inserted"))
        ax.set_ylabel("probability of the clean top-1 class")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    try:
        return atomic_save_figure(fig, path, dpi=100)
    finally:
        plt.close(fig)


def methods_table(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows of formatted numbers for the markdown / text table (header first)."""
    header = ["method", "deletion AUC (lower better)", "insertion AUC (higher better)", "pointing game %",
              "energy in mask", "ms / explanation"]
    rows = [header]
    for s in summaries:
        rows.append([s["method"], _fmt(s["deletion_auc"], 4), _fmt(s["insertion_auc"], 4),
                     _fmt(s["pointing_game_pct"], 1), _fmt(s["energy_in_mask"], 3),
                     _fmt(s["ms_per_explanation"], 1)])
    return rows


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
