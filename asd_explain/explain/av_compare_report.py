"""Write an audio-visual comparison: markdown, CSV, JSON, per-clip CSV, curves PNG and a map grid PNG.

Files (atomic) in ``out_dir``:
  compare.md     one table per modality (deletion, insertion, pointing, audio voiced mass / share,
                 ms per clip; face: mouth pointing on real faces and the crop-centre baseline), the SE
                 checks (insertion within 0.03 of the best baseline, GradCAM time / SE time) and every
                 setting;
  compare.csv    one row per (modality, method);
  compare.json   {"settings", "info", "summary", "checks", "curves"};
  per_clip.csv   one row per (method, clip);
  curves.png     mean Deletion and Insertion curves per method, one row per modality;
  compare_grid.png  one clip: K frames of face and body crops and the audio features, explained by
                 every method (rows).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..config import atomic_write_text
from .av_render import _save_figure, crops_to_uint8, frame_picks
from .render import overlay_heatmap, save_grid

SUMMARY_COLUMNS = ("modality", "method", "clips", "deletion_auc", "insertion_auc", "pointing_pct",
                   "voiced_mass_over_share_any", "voiced_mass_over_share_own", "ms_per_clip", "mouth_frames",
                   "mouth_pct", "lips_pct", "centre_mouth_pct", "centre_lips_pct")


def write_av_report(result, out_dir: Path, grid: dict[str, Any] | None = None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(result)
    atomic_write_text(out_dir / "compare.md", markdown(result, settings))
    atomic_write_text(out_dir / "compare.csv", _csv(SUMMARY_COLUMNS, result.summary, settings))
    payload = {"settings": settings, "info": result.info, "summary": result.summary, "checks": result.checks,
               "curves": result.curves}
    atomic_write_text(out_dir / "compare.json", json.dumps(payload, indent=1, default=str) + "\n")
    columns = sorted({k for r in result.rows for k in r}, key=lambda k: (k not in ("method", "clip", "item"), k))
    atomic_write_text(out_dir / "per_clip.csv", _csv(columns, result.rows, {}))
    plot_av_curves(result.curves, out_dir / "curves.png")
    if grid:
        write_av_grid(grid, out_dir / "compare_grid.png")


def _settings(result) -> dict[str, Any]:
    cfg = result.config
    return {**{k: v for k, v in asdict(cfg).items() if k != "causal"},
            **{f"causal_{k}": v for k, v in asdict(cfg.causal).items()},
            "score": "mean over frames of the probability of each frame's clean top-1 class",
            "audio_deletion_value": "the clip's quietest value of each feature band",
            "visual_deletion_value": "0 in normalised space (mean grey)",
            "se_time": "one no-grad forward for all modalities, charged in full to each",
            "baseline_layer": "the encoder's SE output; published models: the encoder's last block (block3) "
                              "(FullGrad: every Conv2d/BatchNorm2d bias of the encoder, and the BatchNorm3d of a "
                              "published visual encoder)"}


def markdown(result, settings: dict[str, Any]) -> str:
    lines = ["# SE vs the grad-cam family on the audio-visual model", ""]
    lines += [", ".join(f"{k}: `{v}`" for k, v in result.info.items() if v is not None), ""]
    for modality in dict.fromkeys(s["modality"] for s in result.summary):
        rows = [s for s in result.summary if s["modality"] == modality]
        pointing = any(s.get("pointing_pct") is not None for s in rows)  # evidence columns only with a corpus
        voiced = any(s.get("voiced_mass_over_share_any") is not None for s in rows)
        head = ["method", "deletion AUC (lower better)", "insertion AUC (higher better)"]
        head += (["pointing %"] if pointing else []) + (["voiced mass / share (any, own)"] if voiced else [])
        lines += [f"## {modality}", "", "| " + " | ".join(head + ["ms per clip"]) + " |",
                  "|---|" + "---:|" * len(head)]
        for s in rows:
            cells = [s["method"], _fmt(s["deletion_auc"], 4), _fmt(s["insertion_auc"], 4)]
            cells += [_fmt(s.get("pointing_pct"), 1)] if pointing else []
            cells += ([f"{_fmt(s.get('voiced_mass_over_share_any'), 2)}, "
                       f"{_fmt(s.get('voiced_mass_over_share_own'), 2)}"] if voiced else [])
            lines.append("| " + " | ".join(cells + [_fmt(s["ms_per_clip"], 0)]) + " |")
        lines += _mouth_lines(rows)
        lines.append("")
        for key, check in result.checks.items():
            if key.split("/")[0] != modality:
                continue
            name = key.split("/")[1] if "/" in key else "se"
            if "best_baseline" in check:
                lines.append(f"- {name} insertion {check['se_insertion']:.4f} vs best baseline "
                             f"{check['best_baseline']} {check['best_insertion']:.4f}: "
                             f"{'ok' if check['insertion_ok'] else 'NOT ok'} (needs >= best - 0.03).")
            if "gradcam_time_over_se" in check:
                lines.append(f"- GradCAM takes {check['gradcam_time_over_se']:.2f}x the {name} time: "
                             f"{'ok' if check['time_ok'] else 'NOT ok'} (needs >= 2.5x).")
        lines.append("")
    lines += ["Settings:", ""] + [f"- {k}: {v}" for k, v in settings.items()] + [""]
    return "\n".join(lines)


def _mouth_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Face maps on real faces: % of labelled speaking frames whose maximum is in the mouth region / lip box."""
    scored = [s for s in rows if s.get("mouth_pct") is not None]
    if not scored:
        return []
    lines = ["", f"Mouth pointing ({scored[0]['mouth_frames']} labelled speaking frames with landmarks): maximum "
             "in the mouth region (lip landmarks' box grown by half its height) / in the lip box", "",
             "| method | mouth region % | lip box % |", "|---|---:|---:|"]
    lines += [f"| {s['method']} | {_fmt(s['mouth_pct'], 1)} | {_fmt(s['lips_pct'], 1)} |" for s in scored]
    lines.append(f"| crop centre (no model) | {_fmt(scored[0]['centre_mouth_pct'], 1)} | "
                 f"{_fmt(scored[0]['centre_lips_pct'], 1)} |")
    return lines


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def _csv(columns, rows, settings: dict[str, Any]) -> str:
    buffer = io.StringIO()
    names = list(columns) + list(settings)
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**{k: ("" if row.get(k) is None else row.get(k)) for k in columns}, **settings})
    return buffer.getvalue()


def plot_av_curves(curves: dict[str, dict[str, dict[str, list[float]]]], path: Path) -> Path:
    """Mean Deletion / Insertion curves: one row per modality, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modalities = list(curves)
    fig, axes = plt.subplots(max(len(modalities), 1), 2, figsize=(10, 3.2 * max(len(modalities), 1)), squeeze=False)
    for row, modality in enumerate(modalities):
        for col, kind in enumerate(("deletion", "insertion")):
            ax = axes[row, col]
            for method, by_kind in curves[modality].items():
                values = by_kind.get(kind, [])
                ax.plot(np.linspace(0, 1, len(values)), values, label=method)
            unit = "bins" if modality == "audio" else "pixels per frame"
            ax.set_title(f"{modality}: {kind}", fontsize=9)
            ax.set_xlabel(f"fraction of {unit} {'removed' if kind == 'deletion' else 'inserted'}", fontsize=8)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        axes[row, 1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save_figure(fig, path)


def write_av_grid(grid: dict[str, Any], path: Path, frames: int = 4) -> Path:
    """Rows: the input, then each method; columns: K face frames, K body frames, the spectrogram."""
    batch, maps = grid["batch"], grid["maps"]
    n = batch["labels"].shape[1]
    picks = frame_picks(n, frames)
    pictures = {m: crops_to_uint8(batch[m][0].cpu().numpy()) for m in ("face", "body") if m in batch}
    spectrogram = _spectrogram_picture(batch["audio"][0].cpu().numpy()) if "audio" in batch else None
    rows, titles = [], ["input"]
    rows.append([pictures[m][t] for m in pictures for t in picks] + ([spectrogram] if spectrogram is not None else []))
    for method, by_modality in maps.items():
        row = [overlay_heatmap(pictures[m][t], by_modality[m][0, t]) for m in pictures if m in by_modality
               for t in picks]
        if spectrogram is not None and "audio" in by_modality:
            row.append(overlay_heatmap(spectrogram, np.flipud(by_modality["audio"][0].numpy().T)))
        rows.append(row)
        titles.append(method)
    columns = [f"{m} t={t}" for m in pictures for t in picks] + (["audio"] if spectrogram is not None else [])
    return save_grid(path, rows, row_titles=titles, col_titles=columns)


def _spectrogram_picture(features: np.ndarray) -> np.ndarray:
    """(4T, F) features -> (F, 4T, 3) uint8 grey picture, low frequencies at the bottom."""
    lo, hi = np.percentile(features, [1, 99])
    grey = (np.clip((features.T - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    return np.repeat(np.flipud(grey)[..., None], 3, axis=-1)
