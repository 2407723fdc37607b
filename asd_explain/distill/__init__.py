"""SE blocks for a published model without labels: distillation from the frozen original (``distill``),
and the distilled model in one call (``load_distilled``)."""
from .checkpoint import DistillError, load_distilled, read_distilled
from .config import AugmentConfig, DistillConfig
from .loop import distill
from .maps import PRETRAINED_FACE_MAPS, track_face_heatmaps

__all__ = ["AugmentConfig", "DistillConfig", "DistillError", "PRETRAINED_FACE_MAPS", "distill", "load_distilled",
           "read_distilled", "track_face_heatmaps"]
