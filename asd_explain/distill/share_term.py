"""Optional loss term: the fusion SE's audio share trained to follow the teacher's audio occlusion effect.

Distillation alone gives the fusion SE no reason to weigh audio by how much the decision used it: the
frozen tail needs the same [audio | face] embedding whatever the audio was, so the MSE term holds every
gate the teacher needs, and the sparsity term pulls all of them down alike. This term asks for it plainly:
the audio mass share of the fusion gate (``audio_mass_share``: the audio channels' part of the gate's sum,
per frame) should rank the frames of a training step as the teacher's audio occlusion effect does
(``teacher_audio_occlusion``: P(speak) minus P(speak) with the MFCC zeroed, the same blank as
``explain.importance.occlusion_importance``). For every pair of frames (i, j) with occlusion o_i > o_j the
hinge ``relu(slope * (o_i - o_j) - (s_i - s_j))`` is zero once the share difference is at least ``slope``
times the occlusion difference. A share trained this way agrees with occlusion by construction (it is a
per-frame estimate of it read from one forward), which the documentation says where it is used.

Shapes: fusion gate (B, C_audio + C_face, T); shares and occlusion (B, T).
"""
from __future__ import annotations

import torch

from ..models.heads import speaking_probability
from ..models.pretrained_model import PretrainedASDModel
from .forward import FeatureMaps, audio_feature_map, teacher_logits

MAX_PAIR_FRAMES = 512  # frames entering the pairwise hinge (strided subsample beyond: at most 512^2 pairs)


def audio_mass_share(fusion_gate: torch.Tensor, audio_channels: int) -> torch.Tensor:
    """(B, C, T) fusion gate (channels [audio | face]) -> (B, T) the audio channels' share of its sum."""
    audio = fusion_gate[:, :audio_channels].sum(dim=1)
    return audio / fusion_gate.sum(dim=1).clamp_min(1e-12)


@torch.no_grad()
def teacher_audio_occlusion(model: PretrainedASDModel, maps: FeatureMaps, teacher: torch.Tensor) -> torch.Tensor:
    """(B, T): the teacher's P(speak) (from its logits ``teacher`` (B, T, 2)) minus its P(speak) with zeroed
    MFCC (one blank map, broadcast over the batch)."""
    frames = maps.face.shape[2]
    blank = audio_feature_map(model, torch.zeros(1, 4 * frames, model.preprocessing.n_mfcc,
                                                 device=maps.audio.device)).expand_as(maps.audio)
    blanked = teacher_logits(model, FeatureMaps(maps.face, blank))
    return speaking_probability(teacher) - speaking_probability(blanked)


def share_hinge(share: torch.Tensor, occlusion: torch.Tensor, slope: float) -> torch.Tensor:
    """Mean over ordered frame pairs of ``relu(slope * (o_i - o_j) - (s_i - s_j))`` for o_i > o_j.

    share, occlusion: any shape, same size (flattened; strided down to ``MAX_PAIR_FRAMES`` frames).
    """
    s, o = share.reshape(-1), occlusion.reshape(-1).to(share.dtype)
    if s.numel() > MAX_PAIR_FRAMES:
        idx = torch.linspace(0, s.numel() - 1, MAX_PAIR_FRAMES, device=s.device).round().long()
        s, o = s[idx], o[idx]
    d_occ = o[:, None] - o[None, :]
    d_share = s[:, None] - s[None, :]
    ordered = d_occ > 0
    if not bool(ordered.any()):
        return s.sum() * 0.0
    return torch.relu(slope * d_occ - d_share)[ordered].mean()
