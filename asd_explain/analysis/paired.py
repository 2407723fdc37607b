"""Paired comparison of settings measured on the same units (images or clips): means, differences to a
reference, bootstrap confidence intervals and the Wilcoxon signed-rank test.

A metric of one unit is a ratio ``numerator / denominator``: 1 per unit for a plain mean (an AUC of an
image), or e.g. (mouth hits, correctly scored speaking frames) of a clip, so that pooled rates are
frame-weighted. The mean of a setting is ``sum(numerators) / sum(denominators)``; the bootstrap draws
units with replacement, the same draw for every setting (paired), ``resamples`` times. A difference is
called significant when its interval excludes 0 AND the Wilcoxon signed-rank p is below ``alpha`` AND
there are at least ``MIN_UNITS`` units (percentile intervals of a few units are too narrow to trust alone).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import stats

MIN_UNITS = 5


@dataclass
class PairedValues:
    """numerators / denominators (S, U) of S settings on the same U units, settings named in order."""

    settings: list[str]
    numerators: np.ndarray
    denominators: np.ndarray

    def means(self) -> np.ndarray:
        den = self.denominators.sum(axis=1)
        return np.divide(self.numerators.sum(axis=1), den, out=np.full(len(den), np.nan), where=den > 0)

    def unit_values(self) -> np.ndarray:
        """(S, U) per-unit rates; NaN where a unit has no denominator."""
        return np.divide(self.numerators, self.denominators, out=np.full(self.numerators.shape, np.nan),
                         where=self.denominators > 0)


def paired_values(rows: Sequence[dict[str, Any]], settings: Sequence[str], metric: str,
                  denominator: str | None = None) -> PairedValues:
    """Collect ``metric`` (and its ``denominator`` column, else 1) per (setting, unit) from flat rows.

    Rows carry "setting", "unit" and the metric; a unit missing a value for any setting is left out of all.
    """
    table: dict[str, dict[Any, tuple[float, float]]] = {s: {} for s in settings}
    for row in rows:
        value = row.get(metric)
        if row["setting"] in table and value is not None and not _isnan(value):
            den = 1.0 if denominator is None else float(row.get(denominator) or 0.0)
            table[row["setting"]][row["unit"]] = (float(value), den)
    units = sorted(set.intersection(*(set(t) for t in table.values()))) if table else []
    num = np.array([[table[s][u][0] for u in units] for s in settings], dtype=np.float64).reshape(len(settings), -1)
    den = np.array([[table[s][u][1] for u in units] for s in settings], dtype=np.float64).reshape(len(settings), -1)
    return PairedValues(list(settings), num, den)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def bootstrap_differences(values: PairedValues, reference: int, resamples: int, seed: int) -> np.ndarray:
    """(S, resamples) differences of each setting's mean to the reference's, on paired resamples of units."""
    units = values.numerators.shape[1]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, units, size=(resamples, units))
    num = values.numerators[:, draws].sum(axis=2)  # (S, R)
    den = values.denominators[:, draws].sum(axis=2)
    means = np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)
    return means - means[reference]


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p of paired per-unit values (NaN pairs dropped); 1.0 if all equal."""
    keep = ~(np.isnan(a) | np.isnan(b))
    diff = a[keep] - b[keep]
    if diff.size == 0:
        return None
    if not np.any(diff != 0):
        return 1.0
    return float(stats.wilcoxon(a[keep], b[keep], zero_method="wilcox").pvalue)


def compare_to_reference(values: PairedValues, reference: str, higher_is_better: bool, resamples: int,
                         seed: int, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Per setting: mean, difference to ``reference``, 95% bootstrap CI of it, Wilcoxon p, rank (1 = best).

    Units whose denominators are 0 for every setting carry no information and are dropped first.
    """
    informative = values.denominators.sum(axis=0) > 0
    values = PairedValues(values.settings, values.numerators[:, informative], values.denominators[:, informative])
    units = int(values.numerators.shape[1])
    if units == 0:
        return []
    ref = values.settings.index(reference)
    means = values.means()
    diffs = bootstrap_differences(values, ref, resamples, seed)
    per_unit = values.unit_values()
    ranks = stats.rankdata(np.nan_to_num(-means if higher_is_better else means, nan=np.inf), method="min")
    rows = []
    for i, setting in enumerate(values.settings):
        low, high = (0.0, 0.0) if i == ref else _interval(diffs[i])
        p_value = None if i == ref else wilcoxon_p(per_unit[i], per_unit[ref])
        decided = i != ref and units >= MIN_UNITS and p_value is not None and p_value < alpha
        rows.append({"setting": setting, "mean": float(means[i]), "units": units,
                     "diff_vs_reference": float(means[i] - means[ref]), "ci_low": low, "ci_high": high,
                     "wilcoxon_p": p_value,
                     "significantly_better": decided and ((low > 0) if higher_is_better else (high < 0)),
                     "significantly_worse": decided and ((high < 0) if higher_is_better else (low > 0)),
                     "rank": int(ranks[i])})
    return rows


def _interval(diffs: np.ndarray) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of the finite bootstrap differences."""
    finite = diffs[np.isfinite(diffs)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)
