"""``distill``: train only the SE blocks of a published model to reproduce the frozen original.

Per step: ``clips_per_step`` augmented clips of one length (``augment.sample_clips``); both encoders'
maps once (frozen, no gradient); the teacher's logits (SE bypassed) and the student's (SE applied) from the
same maps; loss = MSE over both logits of every frame + ``sparsity_weight`` x the mean gate of the
``sparsity_blocks`` (L1 towards zero: gates are positive, so their mean is their L1 norm per channel)
+ ``share_weight`` x the share term (``share_term``: the fusion gate's audio share ranks the frames as the
teacher's audio occlusion effect does). The distillation term keeps every channel the teacher's decision
needs; the sparsity term pulls every other channel down, so the excitation becomes selective. Adam on the
SE parameters only. A run made with other settings (including one written before a setting existed) is
refused on resume.

Run folder: ``tracks/`` (prepared tracks; per model their face maps + teacher logits, see ``data.py``),
``eval_set.npz``, ``checkpoints/last.pt`` (every ``checkpoint_every`` steps and at the end; a rerun resumes from it),
``checkpoints/best.pt`` (lowest held-out objective: MSE + sparsity_weight x mean gate), ``log.csv``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from tqdm import tqdm

from ..config import config_to_dict
from ..models.pretrained import load_pretrained, resolve_weights
from ..models.pretrained_model import PretrainedASDModel, freeze_except_se
from ..models.weights_file import sha256_of
from ..train.csv_log import CSVLog
from .augment import sample_clips
from .checkpoint import DistillError, make_state, read_distilled, save_state
from .config import DistillConfig
from .data import Track, attach_face_maps, find_videos, load_or_prepare
from .evaluation import build_eval_set, clip_maps, evaluate, holdout_start, load_eval_set, save_eval_set
from .forward import student_logits, teacher_logits
from .share_term import audio_mass_share, share_hinge, teacher_audio_occlusion

TRAIN_COLUMNS = ["step", "kind", "loss", "distill_mse", "sparsity", "share_hinge", "face_kept_fraction"]
EVAL_COLUMNS = ["pearson", "sign_agreement", "mse", "gate_mean_face", "gate_mean_audio", "gate_mean_fusion",
                "face_gates_below_half", "fusion_audio_share", "share_occlusion_pearson"]


def distill(videos: Iterable[str | Path], run_dir: str | Path, cfg: DistillConfig | None = None, *,
            weights: str | Path | None = None, holdout_videos: Iterable[str | Path] = (),
            progress: bool = True, report: Callable[[str], None] = print, stop_after: int | None = None) -> Path:
    """Distil (or resume distilling) into ``run_dir``; returns ``checkpoints/best.pt``.

    ``holdout_videos``: videos used only for the agreement log, never for training. ``stop_after``: stop
    once this step is done (tests; the run resumes later from ``last.pt``).
    """
    cfg = cfg or DistillConfig()
    run = Path(run_dir)
    model, sha = student_model(cfg, weights)
    held = {Path(p).resolve() for p in find_videos(holdout_videos)}
    all_videos = find_videos(videos) + sorted(held - set(find_videos(videos)))
    tracks = load_or_prepare(all_videos, run / "tracks", min_frames=int(round(cfg.min_track_s * 25)),
                             progress=progress, report=report)
    held_flags = [Path(t.video).resolve() in held for t in tracks]
    return distill_tracks(model, sha, tracks, held_flags, run, cfg, progress=progress, report=report,
                          stop_after=stop_after)


def student_model(cfg: DistillConfig, weights: str | Path | None = None) -> tuple[PretrainedASDModel, str]:
    """The published model with fresh SE blocks (seeded) and the sha256 of its weights file."""
    weights_file = resolve_weights(cfg.pretrained, weights)
    torch.manual_seed(cfg.seed)  # the SE blocks' first layer starts random
    model = load_pretrained(cfg.pretrained, weights_file, se=True, se_reduction=cfg.se_reduction,
                            audio_squeeze=cfg.audio_squeeze, se_activation=cfg.se_activation, verify_sha256=False)
    return model, sha256_of(weights_file)


def distill_tracks(model: PretrainedASDModel, weights_sha256: str, tracks: list[Track], held_flags: list[bool],
                   run_dir: str | Path, cfg: DistillConfig, *, progress: bool = True,
                   report: Callable[[str], None] = print, stop_after: int | None = None) -> Path:
    """The training loop on prepared tracks (``held_flags``: tracks only evaluated); see ``distill``."""
    run, sha = Path(run_dir), weights_sha256
    params = freeze_except_se(model)
    tag = f"{cfg.pretrained}-{sha[:10]}"
    attach_face_maps(tracks, run / "tracks", model, tag, cfg.face_variants, cfg.seed, cfg.augment, progress)
    starts = [holdout_start(t, cfg, h) for t, h in zip(tracks, held_flags)]
    train = [(t, s) for t, s, h in zip(tracks, starts, held_flags) if not h and s >= 1]
    if not train:
        raise DistillError(f"{run}: no face track of >= {cfg.min_track_s} s in the training videos")
    eval_path = run / "eval_set.npz"
    if not eval_path.exists():
        save_eval_set(build_eval_set(model, tracks, starts, cfg), eval_path)
    eval_clips = load_eval_set(eval_path)

    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    config = config_to_dict(cfg)
    done, best = 0, math.inf
    last_path, best_path = run / "checkpoints" / "last.pt", run / "checkpoints" / "best.pt"
    if last_path.exists():
        done, best = _resume(last_path, model, optimizer, rng, config, sha)
        report(f"resuming {last_path} at step {done}")
    log = CSVLog(run / "log.csv", TRAIN_COLUMNS + EVAL_COLUMNS)
    log.truncate_after(done)
    train_tracks, stop = [t for t, _ in train], [s for _, s in train]
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    if done == 0:
        _evaluate_and_log(model, eval_clips, log, 0, cfg.share_slope)
    model.train()
    for step in tqdm(range(done + 1, end + 1), initial=done, total=cfg.steps, desc="distill", unit="step",
                     disable=not progress):
        row = _train_step(model, optimizer, sample_clips(train_tracks, stop, cfg.clips_per_step, cfg.clip_s, rng,
                                                          cfg.augment), cfg)
        log.write({"step": step, "kind": "train", **row})
        if step % cfg.eval_every == 0 or step == cfg.steps:
            metrics = _evaluate_and_log(model, eval_clips, log, step, cfg.share_slope)
            objective = metrics["mse"] + cfg.sparsity_weight * _mean_gate(metrics, cfg) + \
                cfg.share_weight * metrics["share_hinge"]
            if objective < best:
                best = objective
                save_state(make_state(model, pretrained=cfg.pretrained, weights_sha256=sha, config=config,
                                      step=step, eval_metrics=metrics), best_path)
        if step % cfg.checkpoint_every == 0 or step == end:
            save_state(make_state(model, pretrained=cfg.pretrained, weights_sha256=sha, config=config, step=step,
                                  optimizer=optimizer.state_dict(), rng=_rng_state(rng), best=best), last_path)
    model.eval()
    return best_path


def _evaluate_and_log(model, eval_clips, log: CSVLog, step: int, share_slope: float) -> dict[str, float]:
    was_training = model.training
    model.eval()
    metrics = evaluate(model, eval_clips, share_slope)
    model.train(was_training)
    log.write({"step": step, "kind": "eval", **{k: metrics[k] for k in EVAL_COLUMNS},
               "face_kept_fraction": metrics["face_kept_fraction"]})
    return metrics


def _train_step(model, optimizer, clips, cfg: DistillConfig) -> dict[str, float]:
    maps = clip_maps(model, [c.face_maps for c in clips], [c.mfcc for c in clips])
    with torch.no_grad():
        target = teacher_logits(model, maps)
    logits, gates = student_logits(model, maps)
    mse = torch.nn.functional.mse_loss(logits, target)
    sparsity = torch.stack([gates[b].mean() for b in cfg.sparsity_blocks]).mean() if cfg.sparsity_blocks \
        else torch.zeros(())
    hinge = torch.zeros(())
    if cfg.share_weight > 0:
        occlusion = teacher_audio_occlusion(model, maps, target)
        hinge = share_hinge(audio_mass_share(gates["fusion"], maps.audio.shape[1]), occlusion, cfg.share_slope)
    loss = mse + cfg.sparsity_weight * sparsity + cfg.share_weight * hinge
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    from ..explain.se_maps import select_channels

    kept, _ = select_channels(gates["face"].detach())
    return {"loss": float(loss.detach()), "distill_mse": float(mse.detach()), "sparsity": float(sparsity.detach()),
            "share_hinge": float(hinge.detach()), "face_kept_fraction": float(kept.float().mean())}


def _mean_gate(metrics: dict[str, float], cfg: DistillConfig) -> float:
    values = [metrics[f"gate_mean_{b}"] for b in cfg.sparsity_blocks]
    return float(np.mean(values)) if values else 0.0


def _rng_state(rng: np.random.Generator) -> dict:
    state = rng.bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": str(state["state"]["state"]),
            "inc": str(state["state"]["inc"]), "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"])}


def _set_rng_state(rng: np.random.Generator, saved: dict) -> None:
    rng.bit_generator.state = {"bit_generator": saved["bit_generator"],
                               "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
                               "has_uint32": saved["has_uint32"], "uinteger": saved["uinteger"]}


def _resume(path: Path, model, optimizer, rng: np.random.Generator, config: dict, sha: str) -> tuple[int, float]:
    state = read_distilled(path)
    same = {k: v for k, v in state["config"].items() if k != "steps"} == {k: v for k, v in config.items()
                                                                            if k != "steps"}
    if not same or state["weights_sha256"] != sha:
        raise DistillError(f"{path}: this run was started with other settings or weights; use a new --out "
                           "folder or the same settings")
    model.se.load_state_dict(state["se_state"])
    optimizer.load_state_dict(state["optimizer"])
    _set_rng_state(rng, state["rng"])
    return int(state["step"]), float(state["best"])
