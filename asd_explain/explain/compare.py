"""Compare explainers on one model and dataset: Deletion, Insertion, pointing game, energy in mask, time.

``compare_explainers(model, dataset, cfg, out_dir)`` explains the same images with every method (the
explained class is the model's prediction), scores each map with the metrics of
``asd_explain.metrics`` and times each explanation. Methods are interleaved batch by batch (the order
rotates) so that machine load hits all of them alike. Per-batch results are appended to
``out_dir/progress.jsonl``; a run that stops is resumed by calling again with the same settings.
The report (``compare.md``, ``compare.csv``, ``compare.json``, ``per_image.csv``, ``compare_grid.png``,
``curves.png``) is written by ``compare_report.write_report``.

Dataset items are dicts ``{"image": (C, H, W) normalised, "label": int, "mask": (H, W) bool}``
(``mask`` optional; datasets with ``has_masks = False`` get no pointing / energy scores).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from ..metrics.deletion import CausalSettings, deletion_insertion
from ..metrics.pointing import energy_in_mask, pointing_game
from .baselines import make_explainer, parse_methods
from .compare_report import write_report
from .journal import RecordJournal

PAPER_METHODS = ("se", "gradcam", "gradcam++", "eigengradcam", "fullgrad")


@dataclass
class CompareConfig:
    """Settings of one comparison (written into every output).

    methods: explainer names (``baselines.EXPLAINER_NAMES``); count: images compared (the first
    ``count`` of the split; None = all); batch_size: images per explanation call; target_layer: the
    grad-cam layer (None: the SE block's output); causal: Deletion/Insertion settings;
    pointing_tolerance_px: pointing-game tolerance; grid_images: images in the PNG grid.
    """

    methods: tuple[str, ...] = PAPER_METHODS
    count: int | None = 120
    batch_size: int = 16
    target_layer: str | None = None
    causal: CausalSettings = field(default_factory=CausalSettings)
    pointing_tolerance_px: float = 0.0
    grid_images: int = 6

    def __post_init__(self) -> None:
        self.methods = tuple(parse_methods(self.methods))
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")


@dataclass
class MethodResult:
    """Per-image scores of one method (lists in dataset order) and its explanation time."""

    name: str
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Means over images; pointing in %; ms per explanation."""
        n = len(self.rows)

        def mean(key: str) -> float | None:
            values = [r[key] for r in self.rows if r.get(key) is not None]
            return sum(values) / len(values) if values else None

        pointing = mean("pointing_hit")
        return {
            "method": self.name, "images": n, "deletion_auc": mean("deletion_auc"),
            "insertion_auc": mean("insertion_auc"),
            "pointing_game_pct": None if pointing is None else 100.0 * pointing,
            "energy_in_mask": mean("energy_in_mask"), "ms_per_explanation": 1000.0 * self.seconds / max(n, 1),
        }


@dataclass
class CompareResult:
    methods: dict[str, MethodResult]
    config: CompareConfig
    curves: dict[str, dict[str, list[float]]]  # method -> {"deletion": mean curve, "insertion": ...}
    info: dict[str, Any] = field(default_factory=dict)

    def summaries(self) -> list[dict[str, Any]]:
        return [m.summary() for m in self.methods.values()]


def compare_explainers(
    model: nn.Module, dataset: Dataset, cfg: CompareConfig, out_dir: str | Path | None = None, *,
    device: torch.device | str = "cpu", info: dict[str, Any] | None = None, progress: bool = True,
) -> CompareResult:
    """Run every method of ``cfg`` over the first ``cfg.count`` images of ``dataset``.

    With ``out_dir`` the per-batch results are appended to ``progress.jsonl`` there (resumable) and
    the full report is written. Returns the per-method results.
    """
    model = model.to(device).eval()
    count = len(dataset) if cfg.count is None else min(cfg.count, len(dataset))
    has_masks = bool(getattr(dataset, "has_masks", False))
    journal = RecordJournal(Path(out_dir) / "progress.jsonl", _fingerprint(cfg, count, info)) if out_dir else None
    done = journal.load() if journal else {}
    results = {m: MethodResult(m) for m in cfg.methods}
    curve_sums: dict[str, dict[str, torch.Tensor]] = {}
    step = None
    explainers = {m: make_explainer(m, model, cfg.target_layer if m != "se" else None) for m in cfg.methods}
    try:
        loader = DataLoader(Subset(dataset, range(count)), batch_size=cfg.batch_size)
        for index, batch in enumerate(tqdm(loader, desc="compare", unit="batch", disable=not progress)):
            first = index * cfg.batch_size
            order = cfg.methods[index % len(cfg.methods):] + cfg.methods[:index % len(cfg.methods)]
            for method in order:
                record = done.get((index, method))
                if record is None:
                    record = _run_batch(explainers[method], model, batch, first, cfg, has_masks, device)
                    if journal:
                        journal.append(index, method, record)
                results[method].seconds += record["seconds"]
                results[method].rows.extend(record["rows"])
                _add_curves(curve_sums.setdefault(method, {}), record)
                step = record["step"]
    finally:
        for explainer in explainers.values():
            explainer.close()
    curves = {m: {k: (v / max(len(results[m].rows), 1)).tolist() for k, v in sums.items()}
              for m, sums in curve_sums.items()}
    result = CompareResult(results, cfg, curves, dict(info or {}, images=count, device=str(device), step=step))
    if out_dir is not None:
        grid = explain_grid(model, dataset, cfg, device)
        write_report(result, Path(out_dir), grid=grid, mean=getattr(dataset, "mean", None),
                     std=getattr(dataset, "std", None))
    return result


def _run_batch(explainer, model: nn.Module, batch: dict, first: int, cfg: CompareConfig, has_masks: bool,
               device) -> dict[str, Any]:
    """Explain one batch (timed), then score the maps; returns a JSON-able record."""
    images = batch["image"].to(device)
    if images.is_cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    explanation = explainer.explain(images)
    maps = explanation.maps
    if maps.is_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    curves = deletion_insertion(model, images, maps.to(images.device), cfg.causal)
    predicted = curves.classes.cpu()
    rows = []
    hits = energy = None
    if has_masks:
        masks = batch["mask"].to(maps.device)
        hits = pointing_game(maps, masks, cfg.pointing_tolerance_px).cpu()
        energy = energy_in_mask(maps, masks).cpu()
    has_object = batch["mask"].flatten(1).any(1).tolist() if has_masks else []  # empty mask: nothing to point at
    for i in range(images.shape[0]):
        rows.append({
            "index": first + i, "label": int(batch["label"][i]), "predicted": int(predicted[i]),
            "deletion_auc": float(curves.deletion_auc[i]), "insertion_auc": float(curves.insertion_auc[i]),
            "pointing_hit": None if hits is None or not has_object[i] else float(hits[i]),
            "energy_in_mask": None if energy is None or not has_object[i] else float(energy[i]),
        })
    return {"seconds": seconds, "rows": rows, "step": curves.step,
            "deletion_sum": curves.deletion.sum(0).tolist(), "insertion_sum": curves.insertion.sum(0).tolist()}


def _add_curves(sums: dict[str, torch.Tensor], record: dict[str, Any]) -> None:
    for kind in ("deletion", "insertion"):
        values = torch.tensor(record[f"{kind}_sum"], dtype=torch.float64)
        sums[kind] = values if kind not in sums else sums[kind] + values


def explain_grid(model: nn.Module, dataset: Dataset, cfg: CompareConfig, device) -> dict[str, Any]:
    """Maps of the first ``cfg.grid_images`` images by every method (for the PNG grid)."""
    count = min(cfg.grid_images, len(dataset))
    if count < 1:
        return {}
    batch = next(iter(DataLoader(Subset(dataset, range(count)), batch_size=count)))
    images = batch["image"].to(device)
    maps, predicted = {}, None
    for method in cfg.methods:
        with make_explainer(method, model, cfg.target_layer if method != "se" else None) as explainer:
            explanation = explainer.explain(images)
        maps[method] = explanation.maps.detach().cpu()
        if predicted is None and explanation.logits is not None:
            predicted = explanation.logits.argmax(-1).cpu()
    return {"images": batch["image"], "masks": batch.get("mask"), "labels": batch["label"],
            "predicted": predicted, "maps": maps}


def _fingerprint(cfg: CompareConfig, count: int, info: dict[str, Any] | None) -> str:
    settings = {"config": asdict(cfg), "count": count, "info": info or {}}
    settings["config"].pop("grid_images")
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def compare_checkpoint(
    checkpoint: str | Path, out_dir: str | Path, cfg: CompareConfig, *, split: str = "test",
    root: str | None = None, device: str = "auto", progress: bool = True,
) -> CompareResult:
    """``compare_explainers`` on an image-recipe checkpoint and the dataset it was trained on."""
    from ..image.models import load_classifier
    from ..image.recipe import dataset_from_checkpoint
    from ..runtime import resolve_device

    dev = resolve_device(device)
    model, ckpt = load_classifier(checkpoint, dev)
    dataset = dataset_from_checkpoint(ckpt, split=split, count=cfg.count, root=root)
    data_cfg = ckpt["config"]["data"]
    info = {"checkpoint": str(checkpoint), "arch": ckpt["config"]["model"]["arch"], "se": ckpt["config"]["model"]["se"],
            "dataset": data_cfg["dataset"], "split": split, "image_size": data_cfg["image_size"],
            "classes": list(ckpt.get("classes", [])), "checkpoint_epoch": ckpt.get("epoch")}
    return compare_explainers(model, dataset, cfg, out_dir, device=dev, info=info, progress=progress)
