"""Explain a trained image classifier with its SE block: PNG grids and the pointing game."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..config import atomic_write_text
from ..explain.render import draw_mask_outline, overlay_heatmap, save_grid
from ..explain.se_explainer import SEExplainer
from ..explain.se_maps import DEFAULT_Z, Interpolation
from ..metrics.pointing import pointing_hits
from ..runtime import resolve_device
from .datasets import denormalise
from .models import load_classifier
from .recipe import dataset_from_checkpoint


def explain_classifier(
    checkpoint: str | Path, out_dir: str | Path, *, split: str = "test", count: int | None = None,
    grid_count: int = 16, root: str | None = None, z: float = DEFAULT_Z, top_percent: float | None = None,
    interpolation: Interpolation = "bicubic", batch_size: int = 64, device: str = "auto",
) -> dict[str, Any]:
    """SE heatmaps for ``count`` images of a split: a PNG grid of the first ``grid_count`` and a JSON
    summary (accuracy, kept-channel fraction, and on datasets with masks the pointing game over the
    correctly classified images that hold an object: the heatmap's maximum inside the object's mask;
    overall and per class)."""
    dev = resolve_device(device)
    model, ckpt = load_classifier(checkpoint, dev)
    if not ckpt["config"]["model"]["se"]:
        raise ValueError(f"{checkpoint}: this model was trained without an SE block; nothing to explain")
    dataset = dataset_from_checkpoint(ckpt, split=split, count=count, root=root)
    explainer = SEExplainer(model, z=z, top_percent=top_percent, interpolation=interpolation)
    correct = hits = seen = pointed = 0
    class_hits: dict[int, list[int]] = {}  # label -> [hits, correct images]
    kept: list[torch.Tensor] = []
    shown: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
    classes = ckpt["classes"]
    for batch in tqdm(DataLoader(dataset, batch_size=batch_size), desc="explain", unit="batch"):
        images = batch["image"].to(dev)
        result = explainer.explain(images)
        pred = result.logits.argmax(1).cpu()
        ok = pred == batch["label"]
        maps = result.maps.cpu()
        kept.append(result.extras["kept"].float().mean(1).cpu())
        correct += int(ok.sum())
        seen += len(ok)
        scored = ok & batch["mask"].flatten(1).any(1) if dataset.has_masks else None  # an object to point at
        if scored is not None and scored.any():
            hit = pointing_hits(maps[scored], batch["mask"][scored])
            hits += int(hit.sum())
            pointed += int(scored.sum())
            for label, h in zip(batch["label"][scored].tolist(), hit.tolist()):
                tally = class_hits.setdefault(int(label), [0, 0])
                tally[0] += int(h)
                tally[1] += 1
        if len(shown) < grid_count:
            pictures = denormalise(batch["image"][: grid_count - len(shown)])
            for i, picture in enumerate(pictures):
                title = f"{classes[int(pred[i])]}{'' if ok[i] else ' (x)'}"
                shown.append((picture, maps[i].numpy(), batch["mask"][i].numpy(), title))
    out = Path(out_dir)
    _save_examples(out / f"se_heatmaps_{split}.png", shown, dataset.has_masks)
    summary = {
        "checkpoint": str(checkpoint), "split": split, "images": seen, "accuracy": correct / max(seen, 1),
        "settings": {"z": z, "top_percent": top_percent, "interpolation": interpolation},
        "kept_channel_fraction_mean": torch.cat(kept).mean().item() if kept else None,
        "se_channels": explainer.se.channels,
    }
    if dataset.has_masks:
        summary["pointing_game"] = hits / max(pointed, 1)
        summary["pointing_images"] = pointed  # correctly classified images with an object
        summary["pointing_per_class"] = {classes[k]: {"pointing_game": h / n, "images": n}
                                         for k, (h, n) in sorted(class_hits.items())}
    atomic_write_text(out / f"explain_{split}.json", json.dumps(summary, indent=2))
    return summary


def _save_examples(path: Path, shown: list, has_masks: bool) -> None:
    if not shown:
        return
    per_row = 8
    rows, titles = [], []
    for start in range(0, len(shown), per_row):
        chunk = shown[start:start + per_row]
        originals = [draw_mask_outline(p, m) if has_masks else p for p, _, m, _ in chunk]
        rows.append(originals)
        rows.append([overlay_heatmap(p, h) for p, h, _, _ in chunk])
        titles += ["input", "SE map"]
    save_grid(path, rows, row_titles=titles)
