"""The training loop: epochs over a BatchSource, BIAS loss, validation AP, checkpoints, resume, DDP.

Outputs in ``run_dir``: ``config.yaml`` (resolved), ``train_log.csv``, ``val_log.csv``,
``checkpoints/last.pt`` (every ``checkpoint_every_steps`` and at each epoch end) and
``checkpoints/best.pt`` (best validation AP). Re-running the same command resumes from ``last.pt``:
the step count, epoch position, optimiser, scheduler, grad scaler and RNG states continue.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..config import save_config
from ..models.asd_model import ASDModel, model_inputs
from ..models.fusion import modality_shares
from ..models.pretrained import load_pretrained
from ..models.pretrained_model import PretrainedASDModel
from ..runtime import seed_everything
from ..se.capture import SECapture
from .batches import BatchSource, eval_positions, shard_positions
from .checkpoint import (
    CheckpointError,
    Preprocessing,
    atomic_torch_save,
    capture_rng_state,
    load_checkpoint,
    load_model_state,
    make_checkpoint,
    model_config_dict,
    restore_rng_state,
)
from .config import TrainConfig
from .csv_log import CSVLog
from .distributed import DistInfo, barrier, broadcast_object, cleanup_distributed, gather_objects, setup_distributed
from .losses import ASDLoss, blank_share_penalty, gate_l1_penalty, share_floor_penalty
from .validation import FrameScores, autocast_context, score_batches

TRAIN_COLUMNS = ["step", "epoch", "lr", "loss", "loss_fused", "loss_audio", "loss_face", "loss_body",
                 "frames_per_s", "elapsed_s", "cpu_s"]
VAL_COLUMNS = ["step", "epoch", "val_ap", "val_loss", "val_frames", "elapsed_s", "cpu_s"]


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0  # positions of the current epoch already consumed (all ranks together)
    elapsed_s: float = 0.0  # wall-clock seconds of training so far, summed over resumes
    cpu_s: float = 0.0  # CPU seconds of this (rank 0) process so far, summed over resumes (not loader workers)
    best_val_ap: float = -1.0
    last_val_ap: float = float("nan")
    last_val_step: int = -1


@dataclass
class TrainResult:
    progress: Progress
    last_checkpoint: Path
    best_checkpoint: Path | None


class Trainer:
    """Train ``ASDModel(config.model)`` on ``train_source``, validating on ``val_source`` (optional)."""

    def __init__(self, config: TrainConfig, train_source: BatchSource, val_source: BatchSource | None = None,
                 *, preprocessing: Preprocessing | dict[str, Any] | None = None, resume: bool = True) -> None:
        self.config = config
        self.train_source = train_source
        self.val_source = val_source
        self.preprocessing = preprocessing
        self.dist: DistInfo = setup_distributed(config.device)
        torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // self.dist.world_size))
        seed_everything(config.seed)
        self.run_dir = Path(config.run_dir)
        self.last_path = self.run_dir / "checkpoints" / "last.pt"
        self.best_path = self.run_dir / "checkpoints" / "best.pt"
        self.model = build_training_model(config).to(self.dist.device)
        self.loss_fn = ASDLoss(config.aux_loss_weight, config.unlabelled_blanks)
        if not isinstance(self.model, ASDModel) and config.blank_gate_weight > 0:
            raise ValueError(f"blank_gate_weight needs the toolkit's fusion SE; {config.init} has none")
        if not isinstance(self.model, ASDModel) and config.share_floor > 0:
            raise ValueError(f"share_floor needs the toolkit's fusion SE; {config.init} has none")
        if config.share_floor < 0 or (isinstance(self.model, ASDModel) and config.share_floor > 0
                                      and config.share_floor * len(self.model.modalities) >= 1):
            raise ValueError(f"share_floor must be in [0, 1 / number of modalities), got {config.share_floor}")
        if config.gate_l1 < 0:
            raise ValueError(f"gate_l1 must be >= 0, got {config.gate_l1}")
        blocks = self.model.se_blocks()
        if config.gate_l1 > 0 and not blocks:
            raise ValueError("gate_l1 needs SE blocks; this model has none (model.se: false)")
        # the SE gates the losses read, captured with their graph during each training forward
        wanted = set(blocks) if config.gate_l1 > 0 else set()
        wanted |= {"fusion"} & set(blocks) if config.blank_gate_weight > 0 or config.share_floor > 0 else set()
        self.loss_gates = {name: blocks[name] for name in sorted(wanted)}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.optim.lr,
                                          weight_decay=config.optim.weight_decay,
                                          fused=self.dist.device.type in ("cpu", "cuda"))  # one kernel, not ~120
        decay = config.optim.lr_decay
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda epoch: decay ** epoch)
        self.use_amp = config.amp and self.dist.device.type == "cuda"
        fp16 = self.use_amp and not torch.cuda.is_bf16_supported()
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.progress = Progress()
        if resume and self.last_path.exists():
            self._resume()
        self.net = DistributedDataParallel(self.model, device_ids=[self.dist.device.index]
                                           if self.dist.device.type == "cuda" else None) \
            if self.dist.distributed else self.model
        self.train_log = self.val_log = None
        if self.dist.is_main:
            self._open_logs()

    # ---- set-up ---------------------------------------------------------------------------------
    def _resume(self) -> None:
        checkpoint = load_checkpoint(self.last_path, map_location=self.dist.device)
        saved = checkpoint.get("model_config")
        if saved != model_config_dict(self.model):
            diff = _first_difference(saved or {}, model_config_dict(self.model))
            raise CheckpointError(f"{self.last_path}: holds a different model ({diff}); use another run_dir "
                                  "or --no-resume")
        load_model_state(self.model, checkpoint["model_state"], self.last_path)
        self.optimizer.load_state_dict(checkpoint["optimizer_state"])
        self.scheduler.load_state_dict(checkpoint["scheduler_state"])
        if checkpoint.get("scaler_state"):
            self.scaler.load_state_dict(checkpoint["scaler_state"])
        self.progress = Progress(**checkpoint["progress"])
        restore_rng_state(checkpoint["rng"])

    def _open_logs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.config, self.run_dir / "config.yaml")
        columns = TRAIN_COLUMNS + (["gate_mean"] if self.config.gate_l1 > 0 else []) \
            + (["loss_share_floor"] if self.config.share_floor > 0 else [])
        self.train_log = CSVLog(self.run_dir / "train_log.csv", columns)
        self.val_log = CSVLog(self.run_dir / "val_log.csv", VAL_COLUMNS)
        self.train_log.truncate_after(self.progress.step)
        self.val_log.truncate_after(self.progress.step)

    # ---- the loop -------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train until ``optim.epochs`` (or max_steps / max_time_s); returns where it stopped."""
        self._session_start = time.monotonic()
        self._elapsed_at_start = self.progress.elapsed_s
        self._cpu_start = time.process_time()
        self._cpu_at_start = self.progress.cpu_s
        try:
            while self.progress.epoch < self.config.optim.epochs and not self._should_stop():
                finished_epoch = self._train_epoch()
                if finished_epoch:
                    self._end_epoch()
            if self.val_source is not None and self.progress.last_val_step != self.progress.step:
                self._validate()  # the final weights are always validated
            self._save()
        finally:
            cleanup_distributed()
        best = self.best_path if self.best_path.exists() else None
        return TrainResult(self.progress, self.last_path, best)

    def _train_epoch(self) -> bool:
        """Train the rest of the current epoch; False if stopped early (steps/time budget)."""
        p = self.progress
        positions = shard_positions(self.train_source.num_batches(p.epoch), self.dist.rank,
                                    self.dist.world_size, p.batches_done)
        bar = tqdm(total=len(positions), desc=f"epoch {p.epoch + 1}/{self.config.optim.epochs}",
                   disable=not (self.config.progress and self.dist.is_main), leave=False, dynamic_ncols=True)
        self.net.train()
        window: list[dict[str, float]] = []
        tick = time.monotonic()
        with bar:
            for batch in self.train_source.batches(p.epoch, positions):
                parts = self._step(batch)
                p.step += 1
                p.batches_done += self.dist.world_size
                window.append(parts)
                bar.update(1)
                bar.set_postfix(loss=f"{parts['loss']:.3f}")
                if p.step % self.config.log_every_steps == 0:
                    self._log_train(window, time.monotonic() - tick)
                    window, tick = [], time.monotonic()
                if (self.val_source is not None and self.config.validate_every_steps
                        and p.step % self.config.validate_every_steps == 0):
                    self._validate()
                if self.config.checkpoint_every_steps and p.step % self.config.checkpoint_every_steps == 0:
                    self._save()
                if self._should_stop():
                    return False
        return True

    def _step(self, batch: dict[str, Any]) -> dict[str, float]:
        device = self.dist.device
        inputs = model_inputs(batch, self.model.modalities, device)
        labels = batch["labels"].to(device)
        mask = batch.get("label_mask")
        mask = mask.to(device) if mask is not None else None
        with SECapture(self.loss_gates, graph=True) as capture, autocast_context(device, self.use_amp):
            output = self.net(**inputs)
        blanked = batch.get("blanked")
        loss, parts = self.loss_fn(output, labels, mask, blanked)
        fusion_gate = capture.gates.get("fusion") if self.config.blank_gate_weight > 0 and blanked else None
        if fusion_gate is not None:
            fusion = self.model.fusion
            penalty = blank_share_penalty(modality_shares(fusion_gate, fusion.modalities, fusion.dim), blanked, mask)
            loss = loss + self.config.blank_gate_weight * penalty.to(loss.device)
            parts["loss_blank_share"] = float(penalty.detach())
        if self.config.share_floor > 0 and capture.gates.get("fusion") is not None:
            fusion = self.model.fusion
            shares = modality_shares(capture.gates["fusion"], fusion.modalities, fusion.dim)
            floor = share_floor_penalty(shares, blanked, mask, self.config.share_floor)
            loss = loss + self.config.share_floor_weight * floor.to(loss.device)
            parts["loss_share_floor"] = float(floor.detach())
        if self.config.gate_l1 > 0:
            gate = gate_l1_penalty({name: capture.gates.get(name) for name in self.loss_gates})
            loss = loss + self.config.gate_l1 * gate.to(loss.device)
            parts["gate_mean"] = float(gate.detach())
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip, foreach=True)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        parts["frames"] = float(labels.numel())
        return parts

    def _end_epoch(self) -> None:
        p = self.progress
        p.epoch += 1
        p.batches_done = 0
        self.scheduler.step()
        every = max(1, self.config.validate_every_epochs)
        due = p.epoch % every == 0 or p.epoch == self.config.optim.epochs
        if self.val_source is not None and due and p.last_val_step != p.step:
            self._validate()
        self._save()

    # ---- validation, logs, checkpoints ---------------------------------------------------------
    def _validate(self) -> float:
        source = self.val_source
        assert source is not None
        positions = eval_positions(source.num_batches(0), self.dist.rank, self.dist.world_size)
        local = score_batches(self.model, source.batches(0, positions), amp=self.use_amp)
        merged = FrameScores.concat(gather_objects(local, self.dist))
        p = self.progress
        p.last_val_ap = merged.average_precision
        p.last_val_step = p.step
        if self.dist.is_main:
            self.val_log.write({"step": p.step, "epoch": p.epoch, "val_ap": p.last_val_ap,
                                "val_loss": merged.mean_loss, "val_frames": len(merged.score),
                                "elapsed_s": self._elapsed(), "cpu_s": self._cpu()})
            if p.last_val_ap > p.best_val_ap:
                p.best_val_ap = p.last_val_ap
                atomic_torch_save(self._checkpoint(), self.best_path)
        return p.last_val_ap

    def _log_train(self, window: list[dict[str, float]], seconds: float) -> None:
        if not self.dist.is_main or not window:
            return
        row: dict[str, Any] = {k: float(np.mean([w[k] for w in window])) for k in window[0]
                               if k in self.train_log.columns}
        frames = sum(w["frames"] for w in window) * self.dist.world_size
        row.update(step=self.progress.step, epoch=self.progress.epoch, lr=self.optimizer.param_groups[0]["lr"],
                   frames_per_s=frames / max(seconds, 1e-9), elapsed_s=self._elapsed(), cpu_s=self._cpu())
        self.train_log.write(row)

    def _elapsed(self) -> float:
        return self._elapsed_at_start + time.monotonic() - self._session_start

    def _cpu(self) -> float:
        return self._cpu_at_start + time.process_time() - self._cpu_start

    def _should_stop(self) -> bool:
        o = self.config.optim
        stop = bool((o.max_steps and self.progress.step >= o.max_steps)
                    or (o.max_time_s and self._elapsed() >= o.max_time_s))
        return bool(broadcast_object(stop, self.dist)) if o.max_time_s else stop

    def _checkpoint(self) -> dict[str, Any]:
        self.progress.elapsed_s = self._elapsed()
        self.progress.cpu_s = self._cpu()
        return make_checkpoint(
            self.model, preprocessing=self.preprocessing, train_config=self.config,
            optimizer_state=self.optimizer.state_dict(), scheduler_state=self.scheduler.state_dict(),
            scaler_state=self.scaler.state_dict() if self.scaler.is_enabled() else None,
            progress=dict(vars(self.progress)), rng=capture_rng_state(), world_size=self.dist.world_size,
        )

    def _save(self) -> None:
        if self.dist.is_main:
            atomic_torch_save(self._checkpoint(), self.last_path)
        barrier(self.dist)


def build_training_model(config: TrainConfig) -> ASDModel | PretrainedASDModel:
    """``ASDModel(config.model)``; with ``config.init`` the published model, loaded from its AVA weights."""
    if config.init:
        return load_pretrained(config.init, config.init_weights or None)
    return ASDModel(config.model)


def _first_difference(saved: dict[str, Any], current: dict[str, Any]) -> str:
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            return f"{key}: {saved.get(key)!r} in the checkpoint, {current.get(key)!r} in the config"
    return "no difference"


def train(config: TrainConfig, train_source: BatchSource, val_source: BatchSource | None = None, *,
          preprocessing: Preprocessing | dict[str, Any] | None = None, resume: bool = True) -> TrainResult:
    """Build a Trainer and run it (see module docstring for outputs)."""
    return Trainer(config, train_source, val_source, preprocessing=preprocessing, resume=resume).run()
