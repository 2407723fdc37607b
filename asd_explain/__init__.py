"""asd_explain: explainable audio-visual active speaker detection with Squeeze-and-Excitation heatmaps."""
from ._version import __version__
from .se import SqueezeExcite, attach_se
from .explain import SEExplainer, se_heatmaps

__all__ = ["__version__", "SqueezeExcite", "attach_se", "SEExplainer", "se_heatmaps"]
