"""asd_explain: explainable audio-visual active speaker detection with Squeeze-and-Excitation heatmaps.

The top-level names are imported lazily, so ``import asd_explain`` (and the ``asd-prep`` workers that
only need the store format) does not pay for importing torch.
"""
from ._version import __version__

_LAZY = {
    "SqueezeExcite": ("asd_explain.se", "SqueezeExcite"),
    "attach_se": ("asd_explain.se", "attach_se"),
    "SEExplainer": ("asd_explain.explain", "SEExplainer"),
    "se_heatmaps": ("asd_explain.explain", "se_heatmaps"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'asd_explain' has no attribute {name!r}")
