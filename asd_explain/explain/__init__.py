"""Explainers (SE and baselines behind one interface), SE heatmaps and rendering."""
from .base import ClassTarget, Explainer, Explanation, Target
from .se_explainer import SEExplainer, find_se_block
from .se_maps import DEFAULT_Z, SEMaps, se_heatmaps, select_channels

__all__ = [
    "ClassTarget", "DEFAULT_Z", "Explainer", "Explanation", "SEExplainer", "SEMaps", "Target",
    "find_se_block", "se_heatmaps", "select_channels",
]
