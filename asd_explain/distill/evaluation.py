"""Agreement of the student with the teacher on held-out clips, and how selective the gates are.

Held-out set (built once per run, ``RUN/eval_set.npz``): for every track the last ``holdout_fraction`` of
its frames (the whole track for a held-out video) as is, plus ``eval_clips`` augmented clips cut from those
parts (seeded; some with another track's audio or silence). The teacher's logits on each clip are stored
with it. Metrics on the speaking logit (class 1) over all held-out frames: Pearson correlation, sign
agreement (both > 0 or both <= 0), MSE; per SE block the mean gate, and for the face block the fraction of
channels the heatmap keeps (mean + 1.282 std rule) and the fraction of gates below 0.5; the fusion gate's
mean audio mass share, its Pearson correlation with the teacher's audio occlusion effect over all frames,
and the ``share_term`` hinge on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..explain.se_maps import DEFAULT_Z, select_channels
from .augment import make_clip
from .config import DistillConfig
from .data import Track
from .forward import FeatureMaps, audio_feature_map, student_logits, teacher_logits
from .share_term import audio_mass_share, share_hinge, teacher_audio_occlusion

MIN_EVAL_FRAMES = 10


@dataclass
class EvalClip:
    face_maps: np.ndarray
    mfcc: np.ndarray
    teacher: np.ndarray
    kind: str


def holdout_start(track: Track, cfg: DistillConfig, held_out_video: bool) -> int:
    """First held-out frame of a track (0 for a held-out video's tracks)."""
    if held_out_video:
        return 0
    return max(0, len(track) - max(MIN_EVAL_FRAMES, int(round(cfg.holdout_fraction * len(track)))))


def build_eval_set(model, tracks: list[Track], starts: list[int], cfg: DistillConfig) -> list[EvalClip]:
    """Clean held-out parts + augmented clips from them, each with the teacher's logits."""
    clips = []
    for track, start in zip(tracks, starts):
        if len(track) - start >= MIN_EVAL_FRAMES:
            clips.append(("clean", track.face_maps[0, start:], track.mfcc[4 * start:]))
    rng = np.random.default_rng(cfg.seed + 1)
    lengths = [len(t) for t in tracks]
    candidates = [k for k, (t, s) in enumerate(zip(tracks, starts)) if len(t) - s >= MIN_EVAL_FRAMES]
    for _ in range(cfg.eval_clips if candidates else 0):
        k = int(rng.choice(candidates))
        frames = len(tracks[k]) - starts[k]
        clip = make_clip(tracks, k, starts[k], frames, lengths, rng, cfg.augment)
        clips.append((clip.kind, clip.face_maps, clip.mfcc))
    out = []
    for kind, face_maps, mfcc in clips:
        with torch.no_grad():
            maps = clip_maps(model, [face_maps], [mfcc])
            out.append(EvalClip(face_maps, mfcc, teacher_logits(model, maps)[0].cpu().numpy(), kind))
    return out


def save_eval_set(clips: list[EvalClip], path: Path) -> None:
    arrays = {}
    for i, c in enumerate(clips):
        arrays.update({f"face_maps_{i}": c.face_maps, f"mfcc_{i}": c.mfcc, f"teacher_{i}": c.teacher,
                       f"kind_{i}": np.array(c.kind)})
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, count=np.array(len(clips)), **arrays)
    tmp.replace(path)


def load_eval_set(path: Path) -> list[EvalClip]:
    with np.load(path) as data:
        return [EvalClip(data[f"face_maps_{i}"], data[f"mfcc_{i}"], data[f"teacher_{i}"], str(data[f"kind_{i}"]))
                for i in range(int(data["count"]))]


def clip_maps(model, face_maps: list[np.ndarray], mfcc: list[np.ndarray]) -> FeatureMaps:
    """Clips of one length: face maps (T, 128, 14, 14) and MFCC (4T, 13) -> batched FeatureMaps."""
    face = torch.from_numpy(np.stack(face_maps)).to(model.device).float().transpose(1, 2)  # (B, 128, T, 14, 14)
    audio = audio_feature_map(model, torch.from_numpy(np.stack(mfcc)).float().to(model.device))
    return FeatureMaps(face, audio)


def agreement(student: np.ndarray, teacher: np.ndarray) -> dict[str, float]:
    """Speaking logits (N,) x2 -> pearson, sign_agreement, mse."""
    student, teacher = np.asarray(student, np.float64), np.asarray(teacher, np.float64)
    pearson = float(np.corrcoef(student, teacher)[0, 1]) if student.std() > 0 and teacher.std() > 0 else float("nan")
    return {"pearson": pearson, "sign_agreement": float(np.mean((student > 0) == (teacher > 0))),
            "mse": float(np.mean((student - teacher) ** 2))}


def gate_stats(gates: dict[str, torch.Tensor]) -> dict[str, float]:
    """Mean gate per block; face: kept fraction (heatmap rule) and fraction of gates < 0.5."""
    out = {f"gate_mean_{name}": float(g.mean()) for name, g in gates.items()}
    face = gates["face"].detach()
    kept, _ = select_channels(face, z=DEFAULT_Z)
    out["face_kept_fraction"] = float(kept.float().mean())
    out["face_gates_below_half"] = float((face < 0.5).float().mean())
    return out


@torch.no_grad()
def evaluate(model, clips: list[EvalClip], share_slope: float = 0.2) -> dict[str, float]:
    """Agreement over all held-out frames and gate statistics (frame-weighted)."""
    student, teacher, weights, stats, shares, occlusions = [], [], [], [], [], []
    for clip in clips:
        maps = clip_maps(model, [clip.face_maps], [clip.mfcc])
        logits, gates = student_logits(model, maps)
        student.append(logits[0, :, 1].cpu().numpy())
        teacher.append(clip.teacher[:, 1])
        stats.append(gate_stats(gates))
        weights.append(len(clip.teacher))
        shares.append(audio_mass_share(gates["fusion"], maps.audio.shape[1])[0])
        target = torch.from_numpy(clip.teacher).to(logits.device)[None]
        occlusions.append(teacher_audio_occlusion(model, maps, target)[0])
    out = agreement(np.concatenate(student), np.concatenate(teacher))
    share, occlusion = torch.cat(shares), torch.cat(occlusions)
    out["fusion_audio_share"] = float(share.mean())
    out["share_occlusion_pearson"] = agreement(share.cpu().numpy(), occlusion.cpu().numpy())["pearson"]
    out["share_hinge"] = float(share_hinge(share, occlusion, share_slope))
    w = np.asarray(weights, np.float64) / sum(weights)
    for key in stats[0]:
        out[key] = float(sum(wi * s[key] for wi, s in zip(w, stats)))
    return out
