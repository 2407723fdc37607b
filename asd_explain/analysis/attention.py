"""Which cue drives the decision, per category: AP, modality shares, face vs body heatmap energy, pointing.

``summarise_attention(av_pass, cfg, out_dir)`` turns the per-frame table of ``av_pass.run_av_pass`` into
one row per category (WASD's OC, SI, FO, HVN, SS, then "all"):

  ap                       official AVA average precision of the category's frames (``score_csv`` on the
                           ground-truth / prediction CSVs written into ``out_dir``)
  share_<m>_mean/median/q25/q75   the fusion SE's share of gate mass per modality, over frames
  share_<m>_speaking / _silent    its mean on SPEAKING_AUDIBLE / other frames
  kept_share_<m>_mean      share of the threshold-kept fusion channels belonging to the modality
  dominant_<m>             fraction of frames in which the modality has the largest share
  face_energy_mean, body_energy_mean, face_energy_share_mean/median  (share = face / (face + body))
  mouth_pointing, gesture_pointing, mouth_chance   on correctly scored speaking frames (with evidence);
                           ``*_speaking``: the same on every SPEAKING_AUDIBLE frame

``attention_conclusions(table)`` states, from these numbers only, which cue leads where.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..constants import MODALITIES
from ..metrics.ava_csv import write_ava_csv
from ..metrics.ava_scoring import score_csv
from .av_pass import AVPass
from .config import AnalysisConfig

CATEGORY_ORDER = ("OC", "SI", "FO", "HVN", "SS")
ALL = "all"


@dataclass
class AttentionResult:
    """Per-category table (list of dicts, "all" last), AP details and the computed conclusions."""

    table: list[dict[str, Any]]
    conclusions: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"info": self.info, "per_category": self.table, "conclusions": self.conclusions}


def ordered_categories(names: Any) -> list[str]:
    """WASD's categories in their usual order first, any others after them (sorted)."""
    present = {str(n) for n in names if str(n)}
    return [c for c in CATEGORY_ORDER if c in present] + sorted(present - set(CATEGORY_ORDER))


def write_ava_csvs(frames: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """ground_truth.csv and predictions.csv (+ score) in the official layout (no header), atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return (write_ava_csv(frames, out_dir / "ground_truth.csv"),
            write_ava_csv(frames, out_dir / "predictions.csv", predictions=True))


def category_ap(frames: pd.DataFrame, out_dir: Path) -> dict[str, dict[str, Any]]:
    """Official AP overall ("all") and per category, from the CSVs written into ``out_dir``."""
    gt_csv, pred_csv = write_ava_csvs(frames, out_dir)
    categories = dict(zip(frames["video_id"], frames["category"], strict=True))
    result = score_csv(gt_csv, pred_csv, {v: c for v, c in categories.items() if c} or None).to_dict()
    per = {name: {"ap": v["ap"], "rows": v["rows"], "positives": v["positives"]}
           for name, v in result["per_category"].items()}
    per[ALL] = {"ap": result["ap"], "rows": result["rows"], "positives": result["positives"]}
    return per


def _share_stats(rows: pd.DataFrame, prefix: str = "share") -> dict[str, Any]:
    out: dict[str, Any] = {}
    present = [m for m in MODALITIES if f"{prefix}_{m}" in rows]
    speaking = rows["label_id"].to_numpy() == 1
    for m in present:
        v = rows[f"{prefix}_{m}"].to_numpy()
        out[f"{prefix}_{m}_mean"] = float(v.mean())
        if prefix == "share":
            out.update({f"share_{m}_median": float(np.median(v)), f"share_{m}_q25": float(np.quantile(v, 0.25)),
                        f"share_{m}_q75": float(np.quantile(v, 0.75)),
                        f"share_{m}_speaking": _mean(v[speaking]), f"share_{m}_silent": _mean(v[~speaking])})
    if prefix == "share" and present:
        winner = rows[[f"share_{m}" for m in present]].to_numpy().argmax(axis=1)
        out.update({f"dominant_{m}": float((winner == i).mean()) for i, m in enumerate(present)})
    return out


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _energy_stats(rows: pd.DataFrame) -> dict[str, Any]:
    if "face_energy" not in rows or "body_energy" not in rows:
        return {f"{n}_energy_mean": float(rows[f"{n}_energy"].mean()) for n in ("face", "body")
                if f"{n}_energy" in rows}
    face, body = rows["face_energy"].to_numpy(), rows["body_energy"].to_numpy()
    total = face + body
    share = np.divide(face, total, out=np.full_like(face, 0.5), where=total > 0)
    return {"face_energy_mean": float(face.mean()), "body_energy_mean": float(body.mean()),
            "face_energy_share_mean": float(share.mean()), "face_energy_share_median": float(np.median(share))}


def _pointing_stats(rows: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Pointing on correctly scored speaking frames, and on every speaking frame (``*_speaking``)."""
    speaking = rows["label_id"].to_numpy() == 1
    correct = speaking & (rows["score"].to_numpy() >= threshold)
    out: dict[str, Any] = {"correct_speaking_frames": int(correct.sum())}
    for column, key in (("mouth_hit", "mouth_pointing"), ("gesture_hit", "gesture_pointing"),
                        ("mouth_area", "mouth_chance")):
        if column in rows:
            values = rows[column].to_numpy()
            out[key] = _mean(values[correct])
            out[f"{key}_speaking"] = _mean(values[speaking])
    return out


def category_row(name: str, rows: pd.DataFrame, ap: dict[str, Any] | None, cfg: AnalysisConfig) -> dict[str, Any]:
    """All numbers of one category (module docstring)."""
    row: dict[str, Any] = {"category": name, "tracks": int(rows["entity_id"].nunique()), "frames": len(rows),
                           "speaking_frames": int((rows["label_id"] == 1).sum()),
                           "ap": None if ap is None else ap["ap"]}
    row.update(_share_stats(rows))
    row.update(_share_stats(rows, "kept_share"))
    row.update(_energy_stats(rows))
    row.update(_pointing_stats(rows, cfg.speaking_threshold))
    return row


def summarise_attention(av: AVPass, cfg: AnalysisConfig, out_dir: str | Path) -> AttentionResult:
    """Per-category table and conclusions; the AVA CSVs behind the AP are written into ``out_dir``."""
    frames = av.frames
    aps = category_ap(frames, Path(out_dir))
    table = [category_row(c, frames[frames["category"] == c], aps.get(c), cfg)
             for c in ordered_categories(frames["category"].unique())]
    table.append(category_row(ALL, frames, aps[ALL], cfg))
    return AttentionResult(table=table, conclusions=attention_conclusions(table), info=dict(av.info))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def attention_conclusions(table: list[dict[str, Any]]) -> list[str]:
    """Sentences that state what the table shows (every number in them is read from ``table``)."""
    overall = table[-1]
    cats = table[:-1]
    present = [m for m in MODALITIES if f"share_{m}_mean" in overall]
    lines: list[str] = []
    if present:
        lead = max(present, key=lambda m: overall[f"share_{m}_mean"])
        shares = ", ".join(f"{m} {_pct(overall[f'share_{m}_mean'])}" for m in present)
        kept = ", ".join(f"{m} {_pct(overall.get(f'kept_share_{m}_mean'))}" for m in present)
        lines.append(f"Over all {overall['frames']} frames the fusion SE gives {shares} of its gate mass "
                     f"({lead} leads; an even split is {_pct(1 / len(present))}); of the channels its "
                     f"threshold keeps: {kept}.")
        lines += _category_lines(cats, present)
        lines += _speaking_lines(overall, present)
    lines += _energy_lines(cats, overall)
    lines += _ap_lines(cats, overall)
    lines += _pointing_lines(cats, overall)
    return lines


def _category_lines(cats: list[dict[str, Any]], present: list[str]) -> list[str]:
    lines = []
    for m in present:
        known = [c for c in cats if c.get(f"share_{m}_mean") is not None]
        if len(known) < 2:
            continue
        hi = max(known, key=lambda c: c[f"share_{m}_mean"])
        lo = min(known, key=lambda c: c[f"share_{m}_mean"])
        lines.append(f"The {m} share is highest in {hi['category']} ({_pct(hi[f'share_{m}_mean'])}) and lowest in "
                     f"{lo['category']} ({_pct(lo[f'share_{m}_mean'])}), a spread of "
                     f"{100 * (hi[f'share_{m}_mean'] - lo[f'share_{m}_mean']):.2f} points.")
    if "face" in present and "body" in present:
        face_first = [c["category"] for c in cats if c["share_face_mean"] > c["share_body_mean"]]
        lines.append(f"Face outweighs body in {len(face_first)} of {len(cats)} categories"
                     + (f" ({', '.join(face_first)})." if face_first else "."))
    return lines


def _speaking_lines(overall: dict[str, Any], present: list[str]) -> list[str]:
    parts = []
    for m in present:
        on, off = overall.get(f"share_{m}_speaking"), overall.get(f"share_{m}_silent")
        if on is not None and off is not None:
            parts.append(f"{m} {100 * (on - off):+.2f} points")
    return [f"On speaking frames versus the others the shares move by: {', '.join(parts)}."] if parts else []


def _energy_lines(cats: list[dict[str, Any]], overall: dict[str, Any]) -> list[str]:
    if "face_energy_share_mean" not in overall:
        return []
    face_first = [c["category"] for c in cats if c["face_energy_share_mean"] > 0.5]
    return [f"The face heatmap carries {_pct(overall['face_energy_share_mean'])} of the face + body heatmap energy "
            f"overall (median {_pct(overall['face_energy_share_median'])}); it is above half in "
            f"{len(face_first)} of {len(cats)} categories" + (f" ({', '.join(face_first)})." if face_first else ".")]


def _ap_lines(cats: list[dict[str, Any]], overall: dict[str, Any]) -> list[str]:
    scored = [c for c in cats if c["ap"] is not None]
    line = f"AP over all frames: {_pct(overall['ap'])}"
    if len(scored) >= 2:
        best = max(scored, key=lambda c: c["ap"])
        worst = min(scored, key=lambda c: c["ap"])
        line += (f"; best category {best['category']} ({_pct(best['ap'])}), "
                 f"worst {worst['category']} ({_pct(worst['ap'])})")
    return [line + "."]


def _pointing_lines(cats: list[dict[str, Any]], overall: dict[str, Any]) -> list[str]:
    if overall.get("mouth_pointing_speaking") is None:
        return []
    lines = []
    for suffix, frames in (("", f"{overall['correct_speaking_frames']} correctly scored speaking frames"),
                           ("_speaking", f"all {overall['speaking_frames']} speaking frames")):
        if overall.get(f"mouth_pointing{suffix}") is None:
            continue
        line = (f"On {frames} the face map's maximum lies in the mouth box on "
                f"{_pct(overall[f'mouth_pointing{suffix}'])} of frames (a random point would: "
                f"{_pct(overall[f'mouth_chance{suffix}'])})")
        if overall.get(f"gesture_pointing{suffix}") is not None:
            line += f"; the body map's maximum in the gesture box on {_pct(overall[f'gesture_pointing{suffix}'])}"
        by_cat = [f"{c['category']} {_pct(c[f'mouth_pointing{suffix}'])}" for c in cats
                  if c.get(f"mouth_pointing{suffix}") is not None]
        lines.append(line + "." + (f" Mouth pointing per category: {', '.join(by_cat)}." if by_cat else ""))
    return lines
