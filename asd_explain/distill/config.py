"""Settings of a distillation run (``asd-explain distill``): what is sampled, how it is augmented, the loss.

Units are in the names. Every value is recorded in the run's checkpoints, so a distilled model says how it
was made.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation of one training clip (the teacher always scores the same augmented clip).

    Faces: ``flip_p`` horizontal flip; one affine per clip with shift up to ``shift_px`` and scale in
    ``1 +- scale_jitter``; grey level ``x * contrast + brightness`` with contrast in ``1 +- contrast_jitter``
    and brightness up to ``brightness_levels`` grey levels. Audio: gain in ``+- gain_db``; with ``noise_p``
    white noise at an SNR drawn in ``snr_db``; with ``swap_audio_p`` the audio of another track (another
    window of another video when there is one), with ``silence_p`` silence (a little noise only), so the
    student also sees faces that do not match the sound it hears.
    """

    flip_p: float = 0.5
    shift_px: float = 4.0
    scale_jitter: float = 0.05
    contrast_jitter: float = 0.2
    brightness_levels: float = 20.0
    gain_db: float = 6.0
    noise_p: float = 0.5
    snr_db: tuple[float, float] = (5.0, 40.0)
    swap_audio_p: float = 0.2
    silence_p: float = 0.1


@dataclass(frozen=True)
class DistillConfig:
    """One distillation run.

    ``clip_s``: training clips last 1-6 s (drawn per step; all clips of a step have the same length, so
    no padding changes the GRUs); ``holdout_fraction``: the last part of every track is kept out of
    training and used for the agreement log; ``sparsity_weight``: weight of the gate sparsity loss (the
    mean excitation of the ``sparsity_blocks``; excitations lie in (0, 2), 1 = identity) beside the
    per-frame MSE on both logits (the audio block is left out by default: pulling it down cost the
    agreement with the teacher, docs/pretrained.md); ``face_variants``: versions of every track's crops
    whose (frozen) encoder maps are computed once, the first as is, the others augmented (see
    ``data.face_map_variants``);
    ``eval_clips``: augmented held-out clips (seeded) besides the clean held-out segments.
    ``se_activation``: the SE blocks' hidden activation ("leaky_relu": a block cannot die, see
    ``IdentityInitSE``; "relu" rebuilds runs made before the choice existed). ``share_weight`` /
    ``share_slope``: weight of the term asking the fusion gate's audio share to rank frames as the teacher's
    audio occlusion does (``share_term``; 0 = off).
    """

    pretrained: str = "light-asd"
    steps: int = 80
    clips_per_step: int = 2
    clip_s: tuple[float, float] = (1.0, 6.0)
    lr: float = 1e-2
    sparsity_weight: float = 0.5
    sparsity_blocks: tuple[str, ...] = ("face", "fusion")
    se_reduction: int = 16
    audio_squeeze: str = "frame"
    se_activation: str = "leaky_relu"
    share_weight: float = 1.0
    share_slope: float = 0.2
    holdout_fraction: float = 0.2
    eval_every: int = 20
    checkpoint_every: int = 10
    eval_clips: int = 8
    seed: int = 0
    min_track_s: float = 1.0
    face_variants: int = 2
    augment: AugmentConfig = AugmentConfig()
