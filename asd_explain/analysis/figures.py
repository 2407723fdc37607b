"""Figures of the analyses (matplotlib figures on an Agg canvas; ``report.save_figure`` writes them)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..constants import DEFAULT_Z, MODALITIES
from .ablation_summary import METRIC_LABELS
from .attention import ordered_categories
from .report import new_figure
from .se_stats import exact_top_count, kept_channel_counts, standardise

COLOURS = {"audio": "tab:green", "face": "tab:blue", "body": "tab:orange"}


def _by_category(frames: pd.DataFrame, column: str) -> tuple[list[str], list[np.ndarray]]:
    names = ordered_categories(frames["category"].unique())
    values = [frames.loc[frames["category"] == c, column].to_numpy() for c in names]
    return names + ["all"], values + [frames[column].to_numpy()]


def shares_figure(frames: pd.DataFrame) -> Figure:
    """Box plots of each modality's fusion SE share per category."""
    present = [m for m in MODALITIES if f"share_{m}" in frames]
    figure = new_figure(4.2 * max(len(present), 1), 3.6)
    for i, m in enumerate(present):
        ax = figure.add_subplot(1, len(present), i + 1)
        names, values = _by_category(frames, f"share_{m}")
        box = ax.boxplot(values, tick_labels=names, showfliers=False, patch_artist=True)
        for patch in box["boxes"]:
            patch.set_facecolor(COLOURS[m])
            patch.set_alpha(0.5)
        ax.axhline(1 / len(present), color="grey", lw=0.8, ls="--")
        ax.set_title(f"{m} share of the fusion SE mass", fontsize=9)
        ax.tick_params(labelsize=8)
    figure.tight_layout()
    return figure


def energy_figure(frames: pd.DataFrame) -> Figure:
    """Face share of the face + body heatmap energy per category, and the mean energies themselves."""
    figure = new_figure(10, 3.6)
    if "face_energy" not in frames or "body_energy" not in frames:
        figure.text(0.5, 0.5, "the model has no face and body streams", ha="center")
        return figure
    total = frames["face_energy"] + frames["body_energy"]
    share = np.where(total > 0, frames["face_energy"] / total.where(total > 0, 1), 0.5)
    shares = frames.assign(face_energy_share=share)
    names, values = _by_category(shares, "face_energy_share")
    ax = figure.add_subplot(1, 2, 1)
    ax.boxplot(values, tick_labels=names, showfliers=False)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_title("face / (face + body) heatmap energy", fontsize=9)
    ax = figure.add_subplot(1, 2, 2)
    x = np.arange(len(names))
    for offset, name in ((-0.2, "face"), (0.2, "body")):
        _, energy = _by_category(frames, f"{name}_energy")
        ax.bar(x + offset, [v.mean() for v in energy], width=0.4, color=COLOURS[name], label=name)
    ax.set_xticks(x, names)
    ax.set_title("mean raw heatmap energy", fontsize=9)
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _grid(count: int, per_row: int = 3, size: tuple[float, float] = (3.6, 3.0)) -> tuple[Figure, int]:
    cols = min(count, per_row) or 1
    rows = -(-count // cols) if count else 1
    return new_figure(size[0] * cols, size[1] * rows), cols


def se_histograms_figure(sources: dict[str, np.ndarray], bins: int = 60) -> Figure:
    """Per source: histogram of the standardised SE values of every vector, with the N(0, 1) density."""
    figure, cols = _grid(len(sources))
    grid = np.linspace(-4, 4, 200)
    for i, (name, vectors) in enumerate(sources.items()):
        ax = figure.add_subplot(-(-len(sources) // cols), cols, i + 1)
        ax.hist(standardise(np.asarray(vectors, dtype=np.float64)).ravel(), bins=bins, range=(-4, 4), density=True,
                color="tab:blue", alpha=0.6)
        ax.plot(grid, stats.norm.pdf(grid), color="black", lw=1)
        ax.axvline(DEFAULT_Z, color="tab:red", lw=0.8, ls="--")
        ax.set_title(f"{name} ({len(vectors)} x {vectors.shape[1]})", fontsize=8)
        ax.tick_params(labelsize=7)
    figure.tight_layout()
    return figure


def qq_figure(statistics: dict[str, dict[str, Any]]) -> Figure:
    """Normal QQ plots of the pooled standardised SE values, one panel per source."""
    figure, cols = _grid(len(statistics))
    for i, (name, s) in enumerate(statistics.items()):
        ax = figure.add_subplot(-(-len(statistics) // cols), cols, i + 1)
        qq = s["qq"]
        if qq is None:
            ax.set_title(f"{name}: constant SE vectors", fontsize=8)
            continue
        ax.plot(qq["theoretical"], qq["ordered"], ".", ms=3)
        lim = [min(qq["theoretical"][0], qq["ordered"][0]), max(qq["theoretical"][-1], qq["ordered"][-1])]
        ax.plot(lim, lim, color="black", lw=0.8)
        ax.set_title(f"{name}  r={qq['r']:.4f}", fontsize=8)
        ax.set_xlabel("normal quantile", fontsize=7)
        ax.tick_params(labelsize=7)
    figure.tight_layout()
    return figure


def kept_figure(sources: dict[str, np.ndarray], z: float = DEFAULT_Z, percent: float = 10.0) -> Figure:
    """Per source: histogram of the channels kept by z, with the exact top-``percent`` count marked."""
    figure, cols = _grid(len(sources))
    for i, (name, vectors) in enumerate(sources.items()):
        ax = figure.add_subplot(-(-len(sources) // cols), cols, i + 1)
        counts = kept_channel_counts(np.asarray(vectors, dtype=np.float64), z=z)
        ax.hist(counts, bins=np.arange(counts.min(), counts.max() + 2) - 0.5, color="tab:purple", alpha=0.7)
        ax.axvline(exact_top_count(vectors.shape[1], percent), color="tab:red", lw=1, label=f"exact {percent:g}%")
        ax.set_title(f"{name}: channels kept by z={z:g}", fontsize=8)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    figure.tight_layout()
    return figure


def ablation_figure(table: Sequence[dict[str, Any]], source: str) -> Figure:
    """Forest plots: each setting's difference to z=1.282/bicubic with its 95% interval, per (group, metric)."""
    keys = []
    for row in table:
        if row["source"] == source and (row["group"], row["metric"]) not in keys:
            keys.append((row["group"], row["metric"]))
    figure, cols = _grid(len(keys), per_row=4, size=(3.4, 2.4))
    for i, (group, metric) in enumerate(keys):
        rows = [r for r in table if (r["source"], r["group"], r["metric"]) == (source, group, metric)]
        ax = figure.add_subplot(-(-len(keys) // cols), cols, i + 1)
        y = np.arange(len(rows))
        diffs = np.array([r["diff_vs_reference"] for r in rows])
        low = diffs - np.array([r["ci_low"] for r in rows])
        high = np.array([r["ci_high"] for r in rows]) - diffs
        ax.errorbar(diffs, y, xerr=[low, high], fmt="o", ms=4, capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, [r["setting"] for r in rows], fontsize=7)
        better = "higher" if rows[0]["higher_is_better"] else "lower"
        ax.set_title(f"{group}: {METRIC_LABELS.get(metric, metric)} ({better} better)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    figure.suptitle(f"{source}: difference to z={DEFAULT_Z:g}/bicubic (95% paired bootstrap)", fontsize=9)
    figure.tight_layout()
    return figure
