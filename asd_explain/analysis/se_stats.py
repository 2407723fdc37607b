"""Are SE values normal, and does z = 1.282 keep 10% of the channels? Statistics of excitation vectors.

The paper's threshold ``mean(s) + z * std(s)`` is computed over ONE sample's C values, and z = 1.282
keeps 10% of them only if those C values are normal. So the unit tested is the vector:

- per vector: Shapiro-Wilk and D'Agostino-Pearson K^2 (``scipy.stats.shapiro`` / ``normaltest``) on each
  vector's C values; reported: share of vectors rejected at ``alpha``, median p, mean skewness and
  excess kurtosis;
- pooled: every vector standardised by its own mean and std (the quantity the threshold reads), all
  values pooled, ``shapiro_max`` of them drawn with the seed, both tests on them; plus the paper's own
  grouping (values centred per vector, not scaled);
- tail: the share of standardised values above 0.674 / 1.282 / 1.645 (25% / 10% / 5% under normality);
- kept channels: per vector, how many channels z keeps (``se_maps.select_channels``) against the exact
  top ceil(C * p / 100);
- QQ data: ordered standardised values against normal quantiles (``scipy.stats.probplot``) and the fit r.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from ..constants import DEFAULT_Z
from ..explain.se_explainer import find_se_block
from ..explain.se_maps import select_channels
from ..se.capture import SECapture
from .config import AnalysisConfig

NORMAL_TAIL = {0.674: 0.25, 1.282: 0.10, 1.645: 0.05}


@torch.no_grad()
def image_se_vectors(model: nn.Module, dataset: Dataset, count: int, batch_size: int = 32,
                     device: torch.device | str = "cpu") -> np.ndarray:
    """Excitation vectors (N, C) of the first ``count`` images of ``dataset`` (items {"image": (3, H, W)})."""
    block = find_se_block(model)
    model = model.eval()
    vectors = []
    loader = DataLoader(Subset(dataset, range(min(count, len(dataset)))), batch_size=batch_size)
    for batch in loader:
        with SECapture({"se": block}) as capture:
            model(batch["image"].to(device))
        vectors.append(capture.gates["se"].float().cpu().numpy())
    return np.concatenate(vectors).astype(np.float64)


def standardise(vectors: np.ndarray) -> np.ndarray:
    """Each vector (row) minus its mean, over its population std (constant rows become 0)."""
    centred = vectors - vectors.mean(axis=1, keepdims=True)
    std = vectors.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0)


def _draw(values: np.ndarray, count: int, seed: int) -> np.ndarray:
    if values.size <= count:
        return values
    return np.random.default_rng(seed).choice(values, size=count, replace=False)


def per_vector_tests(vectors: np.ndarray, alpha: float) -> dict[str, Any]:
    """Shapiro-Wilk and K^2 on each row's values; shares rejected at ``alpha``, median p, shape moments.

    Constant rows (an SE block that gives every channel the same gate) cannot be tested: they are counted
    in ``constant_vectors`` and left out; with no other row the test entries are None.
    """
    varied = vectors[vectors.std(axis=1) > 0]
    out: dict[str, Any] = {"vectors": len(vectors), "channels": vectors.shape[1],
                           "constant_vectors": int(len(vectors) - len(varied))}
    if len(varied) == 0:
        return {**out, **dict.fromkeys(("shapiro_rejected", "shapiro_median_p", "k2_rejected", "k2_median_p",
                                        "skewness_mean", "excess_kurtosis_mean"))}
    shapiro_p = np.atleast_1d(stats.shapiro(varied, axis=1).pvalue)
    k2_p = np.atleast_1d(stats.normaltest(varied, axis=1).pvalue)
    return {**out, "shapiro_rejected": float((shapiro_p < alpha).mean()),
            "shapiro_median_p": float(np.median(shapiro_p)), "k2_rejected": float((k2_p < alpha).mean()),
            "k2_median_p": float(np.median(k2_p)), "skewness_mean": float(stats.skew(varied, axis=1).mean()),
            "excess_kurtosis_mean": float(stats.kurtosis(varied, axis=1).mean())}


def pooled_tests(values: np.ndarray, max_n: int, seed: int) -> dict[str, Any] | None:
    """Both tests on at most ``max_n`` pooled values drawn with ``seed`` (None when all values are equal)."""
    drawn = _draw(values.ravel(), max_n, seed)
    if drawn.size < 8 or np.ptp(drawn) == 0:
        return None
    shapiro = stats.shapiro(drawn)
    k2 = stats.normaltest(drawn)
    return {"n": int(drawn.size), "shapiro_w": float(shapiro.statistic), "shapiro_p": float(shapiro.pvalue),
            "k2": float(k2.statistic), "k2_p": float(k2.pvalue), "skewness": float(stats.skew(drawn)),
            "excess_kurtosis": float(stats.kurtosis(drawn))}


def tail_shares(z_scores: np.ndarray, z_values: tuple[float, ...]) -> dict[str, dict[str, float]]:
    """Share of standardised values strictly above each z, next to the normal tail 1 - Phi(z)."""
    return {f"{z:g}": {"observed": float((z_scores > z).mean()), "normal": float(stats.norm.sf(z))}
            for z in z_values}


def kept_channel_counts(vectors: np.ndarray, z: float | None = None, top_percent: float | None = None) -> np.ndarray:
    """Channels kept per vector by ``select_channels`` (threshold ``z`` or exact ``top_percent``): (N,) ints."""
    kept, _ = select_channels(torch.from_numpy(np.ascontiguousarray(vectors)), z=z if z is not None else DEFAULT_Z,
                              top_percent=top_percent)
    return kept.sum(dim=1).numpy().astype(np.int64)


def exact_top_count(channels: int, percent: float) -> int:
    """The exact top-k channel count for ``percent`` (as ``select_channels`` computes it)."""
    return max(1, math.ceil(channels * percent / 100.0 - 1e-9))


def kept_summary(vectors: np.ndarray, z_values: tuple[float, ...]) -> dict[str, Any]:
    """For each z: kept counts (mean, median, min, max, mean fraction) against the normal tail's exact top-k."""
    channels = vectors.shape[1]
    out: dict[str, Any] = {"channels": channels}
    for z in z_values:
        counts = kept_channel_counts(vectors, z=z)
        target = NORMAL_TAIL.get(round(z, 3), float(stats.norm.sf(z)))
        exact = exact_top_count(channels, 100 * target)
        out[f"{z:g}"] = {"mean": float(counts.mean()), "median": float(np.median(counts)), "min": int(counts.min()),
                         "max": int(counts.max()), "mean_fraction": float(counts.mean() / channels),
                         "normal_fraction": target, "exact_top_k": exact,
                         "below_exact": float((counts < exact).mean()), "equal_exact": float((counts == exact).mean()),
                         "above_exact": float((counts > exact).mean())}
    return out


def qq_data(z_scores: np.ndarray, points: int, seed: int) -> dict[str, Any] | None:
    """Normal QQ points (at most ``points``, evenly spaced in rank) of pooled standardised values, and r."""
    values = _draw(z_scores.ravel(), 50_000, seed)
    if values.size < 2 or np.ptp(values) == 0:
        return None
    (theoretical, ordered), (slope, intercept, r) = stats.probplot(values, dist="norm")
    keep = np.unique(np.linspace(0, len(ordered) - 1, min(points, len(ordered))).round().astype(int))
    return {"theoretical": theoretical[keep].tolist(), "ordered": ordered[keep].tolist(), "slope": float(slope),
            "intercept": float(intercept), "r": float(r), "n": int(len(values))}


def describe_vectors(vectors: np.ndarray, cfg: AnalysisConfig) -> dict[str, Any]:
    """Everything of the module docstring for one source of SE vectors (N, C); pooled parts skip constant rows."""
    varied = vectors[vectors.std(axis=1) > 0]
    z_scores = standardise(varied)
    centred = varied - varied.mean(axis=1, keepdims=True)
    return {
        "vectors": int(len(vectors)), "channels": int(vectors.shape[1]),
        "value_mean": float(vectors.mean()), "value_std": float(vectors.std()),
        "within_vector_std_mean": float(vectors.std(axis=1).mean()),
        "per_vector": per_vector_tests(vectors, cfg.alpha),
        "pooled_standardised": pooled_tests(z_scores, cfg.shapiro_max, cfg.seed),
        "pooled_centred": pooled_tests(centred, cfg.shapiro_max, cfg.seed),
        "tail_shares": tail_shares(z_scores, cfg.z_values) if len(varied) else None,
        "kept": kept_summary(vectors, cfg.z_values),
        "qq": qq_data(z_scores, cfg.qq_points, cfg.seed),
    }


def se_statistics(sources: dict[str, np.ndarray], cfg: AnalysisConfig) -> dict[str, dict[str, Any]]:
    """``describe_vectors`` for every source ("<dataset>:<encoder>" -> vectors), in the given order."""
    return {name: describe_vectors(np.asarray(v, dtype=np.float64), cfg) for name, v in sources.items()}


def _get(section: dict[str, Any] | None, key: str) -> Any:
    return None if section is None else section.get(key)


def normality_rows(statistics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per source: the table of the notebook and of ``se_stats/normality.md``."""
    rows = []
    for name, s in statistics.items():
        pv, ps = s["per_vector"], s["pooled_standardised"]
        rows.append({"source": name, "vectors": s["vectors"], "channels": s["channels"],
                     "constant_vectors": pv["constant_vectors"],
                     "shapiro_rejected": pv["shapiro_rejected"], "shapiro_median_p": pv["shapiro_median_p"],
                     "k2_rejected": pv["k2_rejected"], "k2_median_p": pv["k2_median_p"],
                     "skewness": pv["skewness_mean"], "excess_kurtosis": pv["excess_kurtosis_mean"],
                     "pooled_shapiro_p": _get(ps, "shapiro_p"), "pooled_k2_p": _get(ps, "k2_p"),
                     "pooled_centred_shapiro_p": _get(s["pooled_centred"], "shapiro_p"), "qq_r": _get(s["qq"], "r")})
    return rows


def kept_rows(statistics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (source, z): channels kept by the threshold vs the exact top-k of the normal tail."""
    rows = []
    for name, s in statistics.items():
        for z, k in s["kept"].items():
            if z == "channels":
                continue
            rows.append({"source": name, "z": float(z), "channels": s["channels"], "kept_mean": k["mean"],
                         "kept_median": k["median"], "kept_min": k["min"], "kept_max": k["max"],
                         "kept_fraction": k["mean_fraction"], "normal_fraction": k["normal_fraction"],
                         "exact_top_k": k["exact_top_k"], "share_below_exact": k["below_exact"],
                         "share_equal_exact": k["equal_exact"], "share_above_exact": k["above_exact"],
                         "tail_observed": _get(_get(s["tail_shares"], z), "observed")})
    return rows


def se_conclusions(statistics: dict[str, dict[str, Any]], alpha: float) -> list[str]:
    """Sentences answering "are SE values normal?" and "does z = 1.282 keep 10%?" from the numbers."""
    lines = []
    for name, s in statistics.items():
        pv, k = s["per_vector"], s["kept"].get(f"{DEFAULT_Z:g}")
        if pv["shapiro_rejected"] is None:
            lines.append(f"{name}: all {pv['vectors']} SE vectors are constant (every channel gated alike): the "
                         "threshold cannot separate channels, so only the largest is kept.")
            continue
        line = (f"{name}: Shapiro-Wilk rejects normality (alpha {alpha:g}) for {100 * pv['shapiro_rejected']:.1f}% "
                f"of {pv['vectors'] - pv['constant_vectors']} vectors of {pv['channels']} values, K^2 for "
                f"{100 * pv['k2_rejected']:.1f}% (mean skewness {pv['skewness_mean']:+.2f}, excess kurtosis "
                f"{pv['excess_kurtosis_mean']:+.2f}; QQ r = {s['qq']['r']:.4f})")
        if pv["constant_vectors"]:
            line += (f"; {pv['constant_vectors']} of {pv['vectors']} vectors are constant (every channel gated "
                     f"alike, a dead SE bottleneck: the threshold then keeps only the first channel)")
        if k is not None:
            line += (f"; z = 1.282 keeps {k['mean']:.1f} channels on average ({100 * k['mean_fraction']:.1f}%, "
                     f"range {k['min']}-{k['max']}) where an exact 10% is {k['exact_top_k']}, fewer on "
                     f"{100 * k['below_exact']:.0f}% of vectors and more on {100 * k['above_exact']:.0f}%")
        lines.append(line + ".")
    return lines
