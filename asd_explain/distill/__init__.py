"""SE blocks for a published model without labels: distillation from the frozen original (``distill``),
and the distilled model in one call (``load_distilled``)."""
from .checkpoint import DistillError, load_distilled, read_distilled
from .config import AugmentConfig, DistillConfig
from .loop import distill

__all__ = ["AugmentConfig", "DistillConfig", "DistillError", "distill", "load_distilled", "read_distilled"]
