"""The image-classification recipe: train, evaluate and explain a CNN with or without its SE block.

``train_classifier(cfg, out_dir)`` writes ``config.yaml``, ``checkpoint.pt`` (after every epoch,
atomically, resumable), ``log.csv`` and ``metrics.json`` into ``out_dir``. The same config with
``model.se: false`` trains the plain model, so the accuracy cost of SE is one flag away.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..config import atomic_write_text, config_to_dict, save_config
from ..runtime import resolve_device, seed_everything
from ..se.capture import SECapture
from ..train.checkpoint import save_checkpoint_file
from ..train.csv_log import CSVLog
from ..train.losses import gate_l1_penalty
from .datasets import build_image_dataset
from .models import CHECKPOINT_FORMAT, build_classifier, default_output_stride, load_classifier

# On shapes (7 classes, resnet18, 3 epochs) the SE pointing game is 94.4% with 1.0 and 24.6% with 0 (the gate
# saturates and the threshold keeps one channel); 5.0 closes too much (docs/compare.md, "Gate sparsity").
DEFAULT_GATE_L1 = 1.0


@dataclass
class ImageDataConfig:
    dataset: str = "shapes"
    root: str | None = None
    image_size: int = 128
    attribute: str = "Smiling"
    download: bool = False
    train_count: int | None = None
    val_count: int | None = None
    seed: int = 0


@dataclass
class ImageModelConfig:
    arch: str = "resnet18"
    se: bool = True
    reduction: int = 16
    # 16 or 32; None: 16 for the ResNets (layer4 at stride 1: an 8x8 map at 128 px), 32 for the others.
    # Resolved before training and written to config.yaml (see asd_explain.image.models.set_output_stride).
    output_stride: int | None = None


@dataclass
class ImageTrainConfig:
    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    # Weight of a loss on the SE gate: gate_l1 * mean(s) over the batch and channels (0 = off). It keeps
    # the gate of channels the decision does not use low, so that the channels the threshold keeps are
    # the ones that decide (see docs/compare.md, "Gate sparsity"). None: DEFAULT_GATE_L1 with the SE block,
    # 0 without; resolved before training and written to config.yaml.
    gate_l1: float | None = None


@dataclass
class ImageRunConfig:
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    train: ImageTrainConfig = field(default_factory=ImageTrainConfig)


def _dataset(cfg: ImageDataConfig, split: str, count: int | None = None):
    return build_image_dataset(
        cfg.dataset, root=cfg.root, split=split, image_size=cfg.image_size, download=cfg.download,
        attribute=cfg.attribute, count=count, seed=cfg.seed,
    )


def train_classifier(cfg: ImageRunConfig, out_dir: str | Path, *, resume: bool = True) -> dict[str, Any]:
    """Train; resume from ``out_dir/checkpoint.pt`` when present. Returns the final metrics."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.model.output_stride is None:
        cfg = replace(cfg, model=replace(cfg.model, output_stride=default_output_stride(cfg.model.arch)))
    if cfg.train.gate_l1 is None:
        cfg = replace(cfg, train=replace(cfg.train, gate_l1=DEFAULT_GATE_L1 if cfg.model.se else 0.0))
    save_config(cfg, out / "config.yaml")
    seed_everything(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    train_set = _dataset(cfg.data, "train", cfg.data.train_count)
    val_set = _dataset(cfg.data, "val", cfg.data.val_count)
    model = build_classifier(cfg.model.arch, len(train_set.classes), se=cfg.model.se,
                             reduction=cfg.model.reduction, output_stride=cfg.model.output_stride).to(device)
    generator = torch.Generator().manual_seed(cfg.train.seed)
    loader = DataLoader(train_set, batch_size=cfg.train.batch_size, shuffle=True, drop_last=True,
                        num_workers=cfg.train.workers, generator=generator)
    if cfg.train.gate_l1 < 0:
        raise ValueError(f"train.gate_l1 must be >= 0, got {cfg.train.gate_l1}")
    gate = getattr(model, "se_explain", None) if cfg.train.gate_l1 > 0 else None
    if cfg.train.gate_l1 > 0 and gate is None:
        raise ValueError("train.gate_l1 needs the SE block (model.se: true)")
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.train.lr, total_steps=cfg.train.epochs * len(loader), pct_start=0.2)
    start_epoch, ckpt_path = 0, out / "checkpoint.pt"
    if resume and ckpt_path.exists():
        _, ckpt = load_classifier(ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scheduler.total_steps = cfg.train.epochs * len(loader)  # training may be extended on resume
        start_epoch = int(ckpt["epoch"])
    log = CSVLog(out / "log.csv", ["epoch", "train_loss", "train_accuracy", "val_accuracy", "gate_mean", "seconds"])
    log.truncate_after(start_epoch, column="epoch")  # rows of epochs the checkpoint does not hold are redone
    metrics: dict[str, Any] = {}
    for epoch in range(start_epoch, cfg.train.epochs):
        generator.manual_seed(cfg.train.seed + epoch)
        started = time.time()
        loss, acc, gate_mean = _train_epoch(model, loader, optimizer, scheduler, device,
                                            f"epoch {epoch + 1}/{cfg.train.epochs}", gate, cfg.train.gate_l1)
        val = accuracy(model, val_set, cfg.train.batch_size, device)
        log.write({"epoch": epoch + 1, "train_loss": f"{loss:.5f}", "train_accuracy": f"{acc:.5f}",
                   "val_accuracy": f"{val['accuracy']:.5f}",
                   "gate_mean": "" if gate_mean is None else f"{gate_mean:.4f}",
                   "seconds": f"{time.time() - started:.1f}"})
        metrics = {"epoch": epoch + 1, "train_loss": loss, "train_accuracy": acc, "val": val}
        save_checkpoint_file({
            "format": CHECKPOINT_FORMAT, "config": config_to_dict(cfg), "num_classes": len(train_set.classes),
            "classes": list(train_set.classes), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "metrics": metrics,
        }, ckpt_path)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _train_epoch(model, loader, optimizer, scheduler, device, desc: str, gate=None,
                 gate_l1: float = 0.0) -> tuple[float, float, float | None]:
    """One epoch; returns (mean cross-entropy, accuracy, mean SE gate when ``gate`` is given)."""
    model.train()
    total_loss, correct, seen, gate_sum = 0.0, 0, 0, 0.0
    bar = tqdm(loader, desc=desc, unit="batch", leave=False)
    for batch in bar:
        images, labels = batch["image"].to(device), batch["label"].to(device)
        with SECapture({"se": gate} if gate is not None else {}, graph=True) as capture:
            logits = model(images)
        ce = F.cross_entropy(logits, labels)
        loss = ce
        if gate is not None:
            gate_mean = gate_l1_penalty({"se": capture.gates.get("se")})  # the AV recipe's loss, one block
            loss = ce + gate_l1 * gate_mean
            gate_sum += gate_mean.item() * len(labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total_loss += ce.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
    gate_mean = gate_sum / max(seen, 1) if gate is not None else None
    return total_loss / max(seen, 1), correct / max(seen, 1), gate_mean


@torch.no_grad()
def accuracy(model: torch.nn.Module, dataset, batch_size: int, device) -> dict[str, Any]:
    """Top-1 accuracy, overall and per class, in eval mode."""
    model.eval()
    n_classes = len(dataset.classes)
    correct = torch.zeros(n_classes)
    count = torch.zeros(n_classes)
    for batch in DataLoader(dataset, batch_size=batch_size):
        pred = model(batch["image"].to(device)).argmax(1).cpu()
        labels = batch["label"]
        count += torch.bincount(labels, minlength=n_classes).float()
        correct += torch.bincount(labels[pred == labels], minlength=n_classes).float()
    per_class = {name: (correct[i] / count[i]).item() for i, name in enumerate(dataset.classes) if count[i] > 0}
    return {"accuracy": (correct.sum() / count.sum()).item(), "n": int(count.sum()), "per_class": per_class}


def evaluate_classifier(checkpoint: str | Path, *, split: str = "test", count: int | None = None,
                        root: str | None = None, batch_size: int = 64, device: str = "auto",
                        out: str | Path | None = None) -> dict[str, Any]:
    """Accuracy of a saved classifier on one split; written to ``out/eval_<split>.json`` when ``out``."""
    dev = resolve_device(device)
    model, ckpt = load_classifier(checkpoint, dev)
    result = accuracy(model, dataset_from_checkpoint(ckpt, split=split, count=count, root=root), batch_size, dev)
    result.update({"checkpoint": str(checkpoint), "split": split, "se": ckpt["config"]["model"]["se"],
                   "arch": ckpt["config"]["model"]["arch"]})
    if out is not None:
        atomic_write_text(Path(out) / f"eval_{split}.json", json.dumps(result, indent=2))
    return result


def dataset_from_checkpoint(ckpt: dict[str, Any], *, split: str, count: int | None = None,
                            root: str | None = None):
    """The dataset a checkpoint was trained on, one split (``root`` overrides where it lives)."""
    data_cfg = ImageDataConfig(**{**ckpt["config"]["data"], **({"root": root} if root else {})})
    return _dataset(data_cfg, split, count)
