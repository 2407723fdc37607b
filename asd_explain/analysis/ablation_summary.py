"""The ablation table and its answers: which threshold and which interpolation win, and by how much.

``summarise_ablation(rows, settings, metrics, source, cfg)`` gives one row per (group, metric, setting):
mean, difference to the paper's choice (z = 1.282, bicubic) with a paired 95% bootstrap interval,
Wilcoxon p and the rank in its group. ``ablation_answers(table)`` writes, per source and group, the winner
of every metric and its margin (a margin whose interval holds 0 is called a tie).
"""
from __future__ import annotations

from typing import Any, Sequence

from .ablation import REFERENCE, Setting
from .config import AnalysisConfig
from .paired import MIN_UNITS, compare_to_reference, paired_values

METRIC_LABELS = {
    "deletion_auc": "Deletion AUC", "insertion_auc": "Insertion AUC", "pointing_hit": "pointing game",
    "energy_in_mask": "energy in mask", "face_deletion_auc": "face Deletion AUC",
    "face_insertion_auc": "face Insertion AUC", "mouth_hits": "mouth pointing", "gesture_hits": "gesture pointing",
    "audio_voiced_mass": "audio mass / voiced share",
}


def summarise_ablation(rows: Sequence[dict[str, Any]], settings: Sequence[Setting],
                       metrics: Sequence[tuple[str, bool, str | None]], source: str, cfg: AnalysisConfig
                       ) -> list[dict[str, Any]]:
    """Rows (source, group, metric, higher_is_better, setting, mean, diff, CI, p, rank) for every group."""
    table = []
    groups = sorted({g for s in settings for g in s.groups}, key=("threshold", "interpolation").index)
    for group in groups:
        names = [s.name for s in settings if group in s.groups]
        for metric, higher, denominator in metrics:
            values = paired_values(rows, names, metric, denominator)
            for row in compare_to_reference(values, REFERENCE, higher, cfg.bootstrap, cfg.seed, cfg.alpha):
                table.append({"source": source, "group": group, "metric": metric, "higher_is_better": higher, **row})
    return table


def compact_rows(table: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (source, group, setting), one column per metric: "mean (difference [95% CI])" as text."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in table:
        row = rows.setdefault((r["source"], r["group"], r["setting"]),
                              {"source": r["source"], "group": r["group"], "setting": r["setting"]})
        cell = _fmt(r["mean"], r["metric"])
        if r["setting"] != REFERENCE:
            mark = "*" if r["significantly_better"] or r["significantly_worse"] else ""
            cell += (f" ({_diff(r['diff_vs_reference'], r['metric'])} [{_diff(r['ci_low'], r['metric'])}, "
                     f"{_diff(r['ci_high'], r['metric'])}]{mark})")
        row[METRIC_LABELS.get(r["metric"], r["metric"])] = cell
    return list(rows.values())


def _fmt(value: float, metric: str) -> str:
    if metric in ("pointing_hit", "mouth_hits", "gesture_hits"):
        return f"{100 * value:.1f}%"
    return f"{value:.4f}"


def _diff(value: float, metric: str) -> str:
    if metric in ("pointing_hit", "mouth_hits", "gesture_hits"):
        return f"{100 * value:+.1f} pt"
    return f"{value:+.4f}"


def ablation_answers(table: Sequence[dict[str, Any]]) -> list[str]:
    """Per (source, group, metric): the winner, its value, and its margin over the paper's choice."""
    keys = list(dict.fromkeys((r["source"], r["group"], r["metric"]) for r in table))
    lines = []
    for source, group, metric in keys:
        rows = [r for r in table if (r["source"], r["group"], r["metric"]) == (source, group, metric)]
        ref = next(r for r in rows if r["setting"] == REFERENCE)
        best = ref if ref["rank"] == 1 else min(rows, key=lambda r: r["rank"])  # ties go to the paper's choice
        direction = "higher" if best["higher_is_better"] else "lower"
        head = (f"{source}, {group}, {METRIC_LABELS.get(metric, metric)} ({direction} is better, "
                f"{best['units']} units): ")
        tail = _reference_wins(ref, rows, metric) if best is ref else _other_wins(best, ref, metric)
        lines.append(head + tail + ".")
    return lines


def _verdict(row: dict[str, Any], key: str) -> str:
    if row["units"] < MIN_UNITS:
        return "too few units for a verdict"
    return "significant" if row[key] else "a tie within the interval"


def _reference_wins(ref: dict[str, Any], rows: list[dict[str, Any]], metric: str) -> str:
    text = f"the paper's {REFERENCE} is best ({_fmt(ref['mean'], metric)})"
    tied = [r["setting"] for r in rows if r is not ref and r["rank"] == 1]
    if tied:
        text += f", tied with {', '.join(tied)}"
    others = [r for r in rows if r["rank"] > 1]
    if others:
        runner = min(others, key=lambda r: r["rank"])
        text += (f", ahead of {runner['setting']} by {_margin(ref['mean'] - runner['mean'], metric)} "
                 f"(95% CI of that setting's difference: [{_diff(runner['ci_low'], metric)}, "
                 f"{_diff(runner['ci_high'], metric)}]; {_verdict(runner, 'significantly_worse')})")
    return text


def _other_wins(best: dict[str, Any], ref: dict[str, Any], metric: str) -> str:
    return (f"{best['setting']} wins with {_fmt(best['mean'], metric)} vs {_fmt(ref['mean'], metric)} for "
            f"{REFERENCE}: {_diff(best['diff_vs_reference'], metric)} "
            f"(95% CI [{_diff(best['ci_low'], metric)}, {_diff(best['ci_high'], metric)}], "
            f"Wilcoxon p = {_p(best['wilcoxon_p'])}; {_verdict(best, 'significantly_better')})")


def _margin(value: float, metric: str) -> str:
    """An unsigned gap between two means."""
    if metric in ("pointing_hit", "mouth_hits", "gesture_hits"):
        return f"{100 * abs(value):.1f} pt"
    return f"{abs(value):.4f}"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
