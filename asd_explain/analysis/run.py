"""The analyses end to end: load the checkpoints and the store, compute, write tables, figures and JSON.

``asd-explain analyze`` and the notebooks call these same functions, so the same settings (and seed,
and thread count) give the same numbers. Output folder layout (``out_dir``):

  analysis_config.yaml                      the resolved settings
  attention/attention.json                  per-category table, conclusions, info
  attention/per_category.{csv,md}, frames.csv, ground_truth.csv, predictions.csv
  attention/shares.png, energy.png, examples/<category>_<entity>.png
  se_stats/se_stats.json                    per source: tests, tails, kept channels, QQ data; conclusions
  se_stats/normality.{csv,md}, kept_channels.{csv,md}, histograms.png, qq.png, kept_channels.png
  ablation/ablation.json                    per-unit rows, summary table, answers
  ablation/ablation.{csv,md}, per_unit.csv, ablation_<source>.png
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ..config import atomic_write_text, save_config
from ..data.store import TrackStore
from ..models.asd_model import ASDModel
from ..runtime import resolve_device
from . import figures
from .ablation import AV_METRICS, IMAGE_METRICS, ablation_settings, av_ablation, image_ablation
from .ablation_summary import ablation_answers, compact_rows, summarise_ablation
from .attention import AttentionResult, ordered_categories, summarise_attention
from .av_pass import AVPass, run_av_pass
from .config import ABLATION_KEYS, ATTENTION_KEYS, SE_STATS_KEYS, AnalysisConfig, settings_of, torch_threads
from .report import markdown_table, save_figure, to_jsonable, write_csv, write_json, write_table
from .se_stats import image_se_vectors, kept_rows, normality_rows, se_conclusions, se_statistics

PARTS = ("attention", "se_stats", "ablation")
SUMMARY_COLUMNS = ("category", "tracks", "frames", "speaking_frames", "ap", "share_audio_mean", "share_face_mean",
                   "share_body_mean", "kept_share_audio_mean", "kept_share_face_mean", "kept_share_body_mean",
                   "face_energy_share_mean", "correct_speaking_frames", "mouth_pointing", "mouth_chance",
                   "gesture_pointing", "mouth_pointing_speaking", "mouth_chance_speaking", "gesture_pointing_speaking")


@dataclass
class Loaded:
    """What the analyses run on; a part whose inputs are missing is skipped."""

    av_model: ASDModel | None = None
    store: TrackStore | None = None
    image_model: nn.Module | None = None
    image_dataset: Any = None
    info: dict[str, Any] = field(default_factory=dict)


def load_inputs(cfg: AnalysisConfig) -> Loaded:
    """Load the AV checkpoint + store and / or the image checkpoint + its dataset (``image_count`` images)."""
    from ..image.models import load_classifier
    from ..image.recipe import dataset_from_checkpoint
    from ..train.checkpoint import load_model
    from ..train.store_batches import resolve_store

    if cfg.checkpoint is None and cfg.image_checkpoint is None:
        raise ValueError("nothing to analyse: give an AV checkpoint (with its store) or an image checkpoint")
    device = resolve_device(cfg.device)
    loaded = Loaded()
    if cfg.checkpoint is not None:
        if cfg.data is None:
            raise ValueError(f"{cfg.checkpoint}: an AV checkpoint needs a track store (data)")
        loaded.av_model, _ = load_model(cfg.checkpoint, device)
        loaded.store = TrackStore(resolve_store(cfg.data, cfg.split))
        loaded.info.update(checkpoint=cfg.checkpoint, store=str(loaded.store.path))
    if cfg.image_checkpoint is not None:
        model, ckpt = load_classifier(cfg.image_checkpoint, device)
        if not ckpt["config"]["model"]["se"]:
            raise ValueError(f"{cfg.image_checkpoint}: trained without an SE block; nothing to analyse")
        count = max(cfg.image_count, cfg.ablation_images)
        loaded.image_model = model
        loaded.image_dataset = dataset_from_checkpoint(ckpt, split=cfg.image_split, count=count)
        loaded.info.update(image_checkpoint=cfg.image_checkpoint, image_arch=ckpt["config"]["model"]["arch"],
                           image_dataset=ckpt["config"]["data"]["dataset"], image_epoch=ckpt.get("epoch"))
    return loaded


def av_pass(cfg: AnalysisConfig, loaded: Loaded, progress: bool = True) -> AVPass | None:
    """``run_av_pass`` with the configured thread count (None without an AV checkpoint)."""
    if loaded.av_model is None:
        return None
    with torch_threads(cfg.threads):
        return run_av_pass(loaded.av_model, loaded.store, cfg, corpus=cfg.corpus, progress=progress)


@dataclass
class AttentionOutputs:
    result: AttentionResult
    frames: pd.DataFrame
    paths: dict[str, Path]


def attention_analysis(cfg: AnalysisConfig, loaded: Loaded, out_dir: str | Path, *, av: AVPass | None = None,
                       progress: bool = True) -> AttentionOutputs:
    """Face vs body vs audio per category (``attention``): tables, figures, examples, JSON in ``out_dir``."""
    if loaded.av_model is None:
        raise ValueError("the attention analysis needs an AV checkpoint and a store")
    out = Path(out_dir)
    av = av or av_pass(cfg, loaded, progress)
    result = summarise_attention(av, cfg, out)
    paths = write_table(result.table, out / "per_category", title="Face vs body vs audio, per category",
                        md_columns=SUMMARY_COLUMNS)
    paths["frames"] = write_csv(av.frames, out / "frames.csv")
    paths["shares"] = save_figure(figures.shares_figure(av.frames), out / "shares.png")
    paths["energy"] = save_figure(figures.energy_figure(av.frames), out / "energy.png")
    with torch_threads(cfg.threads):
        paths.update(example_tracks(loaded.av_model, loaded.store, av.frames, cfg, out / "examples"))
    payload = result.to_json()
    payload.update(provenance(cfg, ATTENTION_KEYS))
    paths["json"] = write_json(out / "attention.json", payload)
    return AttentionOutputs(result, av.frames, paths)


def example_tracks(model: ASDModel, store: TrackStore, frames: pd.DataFrame, cfg: AnalysisConfig,
                   out_dir: Path) -> dict[str, Path]:
    """One PNG per category (``examples_per_category`` tracks): the tracks with most correct speaking frames."""
    from ..explain.av_evidence import EvidenceConfig, explain_track
    from ..explain.av_render import render_track_png, safe_name

    correct = frames.assign(ok=(frames["label_id"] == 1) & (frames["score"] >= cfg.speaking_threshold))
    counts = correct.groupby(["category", "entity_id"], sort=False)["ok"].sum().reset_index()
    chosen = []
    for category in ordered_categories(counts["category"].unique()):
        rows = counts[counts["category"] == category].sort_values("ok", ascending=False, kind="stable")
        chosen += [(category, e) for e in rows["entity_id"].head(cfg.examples_per_category)]
    paths = {}
    for category, entity_id in chosen[:cfg.max_examples or None]:
        track = store.read(entity_id)
        explanation = explain_track(model, track, EvidenceConfig(chunk_frames=cfg.chunk_frames))
        path = out_dir / f"{category}_{safe_name(entity_id)}.png"
        paths[f"example_{category}_{entity_id}"] = render_track_png(
            explanation, path, face=track.face, body=track.body, title=f"{category}: {entity_id}")
    return paths


def se_sources(cfg: AnalysisConfig, loaded: Loaded, av: AVPass | None) -> dict[str, np.ndarray]:
    """SE vectors per "<dataset>:<encoder>": the image classifier's, then the AV model's blocks."""
    sources: dict[str, np.ndarray] = {}
    if loaded.image_model is not None:
        with torch_threads(cfg.threads):
            vectors = image_se_vectors(loaded.image_model, loaded.image_dataset, cfg.image_count, cfg.batch_size,
                                       resolve_device(cfg.device))
        sources[f"{loaded.info['image_dataset']}:{loaded.info['image_arch']}"] = vectors
    if av is not None:
        dataset = av.info.get("dataset") or "store"
        for block in ("face", "body", "audio", "fusion"):
            if block in av.se_vectors:
                sources[f"{dataset}:{block}"] = av.se_vectors[block].astype(np.float64)
    return sources


@dataclass
class SEStatsOutputs:
    statistics: dict[str, dict[str, Any]]
    sources: dict[str, np.ndarray]
    conclusions: list[str]
    paths: dict[str, Path]


def se_statistics_analysis(cfg: AnalysisConfig, loaded: Loaded, out_dir: str | Path, *, av: AVPass | None = None,
                           progress: bool = True) -> SEStatsOutputs:
    """Normality, QQ data and kept channels of every SE block's values; tables, figures, JSON in ``out_dir``."""
    out = Path(out_dir)
    if av is None and loaded.av_model is not None:
        av = av_pass(cfg, loaded, progress)
    sources = se_sources(cfg, loaded, av)
    statistics = se_statistics(sources, cfg)
    conclusions = se_conclusions(statistics, cfg.alpha)
    paths = write_table(normality_rows(statistics), out / "normality", title="Normality of SE values")
    paths.update({f"kept_{k}": v for k, v in write_table(kept_rows(statistics), out / "kept_channels",
                                                         title="Channels kept by z vs the exact top-k").items()})
    paths["histograms"] = save_figure(figures.se_histograms_figure(sources), out / "histograms.png")
    paths["qq"] = save_figure(figures.qq_figure(statistics), out / "qq.png")
    paths["kept"] = save_figure(figures.kept_figure(sources), out / "kept_channels.png")
    payload = {"info": loaded.info, **provenance(cfg, SE_STATS_KEYS), "sources": statistics,
               "conclusions": conclusions}
    paths["json"] = write_json(out / "se_stats.json", payload)
    return SEStatsOutputs(statistics, sources, conclusions, paths)


@dataclass
class AblationOutputs:
    rows: list[dict[str, Any]]
    table: list[dict[str, Any]]
    answers: list[str]
    paths: dict[str, Path]


def ablation_analysis(cfg: AnalysisConfig, loaded: Loaded, out_dir: str | Path, *, progress: bool = True
                      ) -> AblationOutputs:
    """Threshold and interpolation ablations on images and on the AV model's clips; outputs in ``out_dir``."""
    out = Path(out_dir)
    settings = ablation_settings(cfg)
    rows: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    with torch_threads(cfg.threads):
        if loaded.image_model is not None:
            source = f"{loaded.info['image_dataset']}:{loaded.info['image_arch']}"
            part = image_ablation(loaded.image_model, loaded.image_dataset, settings, cfg,
                                  device=resolve_device(cfg.device), progress=progress)
            rows += [dict(r, source=source) for r in part]
            table += summarise_ablation(part, settings, IMAGE_METRICS, source, cfg)
        if loaded.av_model is not None:
            source = f"{loaded.store.manifest.get('dataset') or 'store'}:av"
            part = av_ablation(loaded.av_model, loaded.store, settings, cfg, corpus=cfg.corpus, progress=progress)
            rows += [dict(r, source=source) for r in part]
            table += summarise_ablation(part, settings, AV_METRICS, source, cfg)
    answers = ablation_answers(table)
    columns = ["source", "group", "metric", "setting", "mean", "diff_vs_reference", "ci_low", "ci_high",
               "wilcoxon_p", "rank", "units"]
    paths = write_table(table, out / "ablation", columns=columns, title="SE heatmap ablation")
    paths["compact"] = out / "ablation_compact.md"
    atomic_write_text(paths["compact"], compact_markdown(table, answers))
    paths["per_unit"] = write_csv(pd.DataFrame(rows), out / "per_unit.csv")
    for source in dict.fromkeys(r["source"] for r in table):
        name = source.replace(":", "_")
        paths[f"figure_{name}"] = save_figure(figures.ablation_figure(table, source), out / f"ablation_{name}.png")
    payload = {"info": loaded.info, **provenance(cfg, ABLATION_KEYS),
               "ablation_settings": [s.__dict__ for s in settings], "summary": table, "answers": answers, "rows": rows}
    paths["json"] = write_json(out / "ablation.json", payload)
    return AblationOutputs(rows, table, answers, paths)


def compact_markdown(table: list[dict[str, Any]], answers: list[str]) -> str:
    """The ablation per source: mean (difference to the reference [95% CI]) per metric, then the answers."""
    text = ["# SE heatmap ablation", "", "mean (difference to z=1.282/bicubic [95% paired bootstrap CI]); "
            "* = significant (interval without 0, Wilcoxon p < alpha, >= 5 units)", ""]
    for source in dict.fromkeys(r["source"] for r in table):
        rows = [{k: v for k, v in r.items() if k != "source"} for r in compact_rows(table) if r["source"] == source]
        text += [f"## {source}", "", markdown_table(rows)]
    return "\n".join(text + ["## Answers", ""] + [f"- {a}" for a in answers]) + "\n"


PART_FILES = {"attention": ("attention/attention.json", ATTENTION_KEYS, "conclusions"),
              "se_stats": ("se_stats/se_stats.json", SE_STATS_KEYS, "conclusions"),
              "ablation": ("ablation/ablation.json", ABLATION_KEYS, "answers")}


def finished_part(cfg: AnalysisConfig, out_dir: Path, part: str) -> dict[str, Any] | None:
    """The JSON of ``part`` in ``out_dir`` when an earlier run wrote it with the same settings, else None."""
    name, keys, _ = PART_FILES[part]
    path = out_dir / name
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    expected = to_jsonable(provenance(cfg, keys))
    return payload if all(payload.get(k) == v for k, v in expected.items()) else None


def provenance(cfg: AnalysisConfig, keys: tuple[str, ...]) -> dict[str, Any]:
    """What a part's numbers depend on: its settings and its input files (written into its JSON)."""
    return {"settings": settings_of(cfg, keys), "inputs": input_files(cfg, keys)}


def input_files(cfg: AnalysisConfig, keys: tuple[str, ...]) -> dict[str, list[int]]:
    """Size and modification time of the files a part reads (checkpoints, store manifest): a changed file
    is new input. ``keys``: the part's settings (``config.*_KEYS``)."""
    from ..train.store_batches import resolve_store

    paths = [cfg.checkpoint if "checkpoint" in keys else None,
             cfg.image_checkpoint if "image_checkpoint" in keys else None]
    if cfg.data is not None and "data" in keys:
        try:
            paths.append(str(resolve_store(cfg.data, cfg.split) / "manifest.json"))
        except ValueError:
            pass
    found = {}
    for path in filter(None, paths):
        if Path(path).is_file():
            stat = Path(path).stat()
            found[str(path)] = [stat.st_size, stat.st_mtime_ns]
    return found


def run_analysis(cfg: AnalysisConfig, out_dir: str | Path, *, parts: tuple[str, ...] = PARTS, resume: bool = True,
                 progress: bool = True) -> dict[str, Path]:
    """Every part asked for whose inputs are given; one AV pass serves attention and SE statistics.

    A part whose JSON is already in ``out_dir`` with the same settings is not run again (``resume``):
    a stopped run continues with the parts it had not finished. Returns {part: its JSON file}.
    """
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown analysis part {unknown[0]!r} (valid: {', '.join(PARTS)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "analysis_config.yaml")
    loaded = load_inputs(cfg)
    todo = [p for p in parts if not (resume and finished_part(cfg, out, p))]
    if loaded.av_model is None and "attention" in todo:
        todo.remove("attention")
    shared = av_pass(cfg, loaded, progress) if {"attention", "se_stats"} & set(todo) else None
    if "attention" in todo:
        attention_analysis(cfg, loaded, out / "attention", av=shared, progress=progress)
    if "se_stats" in todo:
        se_statistics_analysis(cfg, loaded, out / "se_stats", av=shared, progress=progress)
    if "ablation" in todo:
        ablation_analysis(cfg, loaded, out / "ablation", progress=progress)
    return {p: out / PART_FILES[p][0] for p in parts if (out / PART_FILES[p][0]).is_file()}
