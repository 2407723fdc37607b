"""Statistics over the time axis of SE-scaled maps, used by the map references (``references.py``).

A map has a time axis ``time_dim``: (B, C, T, h, w) visual maps (time_dim 2) or (B, C, F', T') audio maps
(time_dim 3). ``valid`` (B, steps) is 1.0 on each item's real (non-padding) steps (``valid_steps``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def valid_steps(scaled: torch.Tensor, lengths: list[int], time_dim: int, frames: int) -> torch.Tensor:
    """(B, steps) 1.0 on each item's valid time steps of a map whose time axis spans the batch's ``frames``
    video frames (the same number of steps, or a multiple on the audio map)."""
    steps = scaled.shape[time_dim]
    frames = max(frames, 1)
    valid = torch.zeros(scaled.shape[0], steps, dtype=scaled.dtype, device=scaled.device)
    for b, n in enumerate(lengths):
        valid[b, :max(1, -(-n * steps // frames))] = 1.0
    return valid


def clip_mean(scaled: torch.Tensor, valid: torch.Tensor, time_dim: int) -> torch.Tensor:
    """Mean of ``scaled`` over the valid steps of ``time_dim``, kept as a size-1 dimension."""
    shape = [scaled.shape[0]] + [1] * (scaled.dim() - 1)
    shape[time_dim] = valid.shape[1]
    weights = valid.view(shape)
    return (scaled * weights).sum(dim=time_dim, keepdim=True) / weights.sum(dim=time_dim, keepdim=True)


def local_std(scaled: torch.Tensor, valid: torch.Tensor, time_dim: int, half_steps: int) -> torch.Tensor:
    """Per channel and position, the standard deviation of ``scaled`` over the steps ``t - half_steps ..
    t + half_steps``, over the item's valid steps only (a window at an end or at the item's length is cut
    there); 0 on padding steps."""
    steps = scaled.shape[time_dim]
    half = max(0, half_steps)
    x = scaled.float().movedim(time_dim, -1)  # (B, ..., steps)
    weights = valid.view(x.shape[0], *([1] * (x.dim() - 2)), steps)
    # centre on the clip mean first: the variance below is a difference of two means of squares
    x = (x - clip_mean(x, valid, x.dim() - 1)) * weights

    def window_sum(v: torch.Tensor) -> torch.Tensor:  # sums over [t - half, t + half] from one cumulative sum
        running = F.pad(v, (half + 1, half)).cumsum(dim=-1)
        return running[..., 2 * half + 1:] - running[..., :steps]
    count = window_sum(weights.contiguous()).clamp_min(1.0)
    mean = window_sum(x) / count
    variance = (window_sum(x * x) / count - mean * mean).clamp_min(0.0)
    return (variance.sqrt() * weights).movedim(-1, time_dim).to(scaled.dtype)


def speaking_weights(scaled: torch.Tensor, excitation: torch.Tensor, scores: torch.Tensor, valid: torch.Tensor,
                     time_dim: int) -> torch.Tensor:
    """(B, C): each channel's mean excitation times max(0, Pearson r over the valid steps between the
    channel's spatial / spectral mean and the speaking logit). scores: (B, T) speaking probabilities."""
    logit = torch.logit(scores.float().clamp(1e-6, 1 - 1e-6))
    if logit.shape[1] != valid.shape[1]:  # map steps are not video frames: put the logit on them
        logit = F.interpolate(logit[:, None], size=valid.shape[1], mode="nearest")[:, 0]
    space = tuple(d for d in range(2, scaled.dim()) if d != time_dim)
    profile = scaled.float().mean(dim=space)  # (B, C, steps)
    count = valid.sum(dim=1, keepdim=True).clamp_min(1.0)
    mask = valid[:, None, :]
    p = (profile - (profile * mask).sum(-1, keepdim=True) / count[:, None]) * mask
    y = (logit - (logit * valid).sum(-1, keepdim=True) / count) * valid
    r = (p * y[:, None, :]).sum(-1) / (p.norm(dim=-1) * y.norm(dim=-1, keepdim=True)).clamp_min(1e-12)
    gate = excitation.float()
    if gate.dim() == 3:  # per-frame excitation: its mean over the valid frames
        gate = (gate * valid[:, None, :gate.shape[2]]).sum(-1) / count
    return gate * r.clamp_min(0.0)
