"""The SE block, attaching it to any CNN, and reading its gate with hooks."""
from .attach import SE_NAME, SEAttachment, attach_se, feature_map_layers, find_feature_layer
from .block import SqueezeExcite
from .capture import SECapture

__all__ = ["SE_NAME", "SEAttachment", "SECapture", "SqueezeExcite", "attach_se", "feature_map_layers",
           "find_feature_layer"]
