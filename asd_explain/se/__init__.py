"""The SE block and attaching it to any CNN."""
from .attach import SE_NAME, SEAttachment, attach_se, feature_map_layers, find_feature_layer
from .block import SqueezeExcite

__all__ = ["SE_NAME", "SEAttachment", "SqueezeExcite", "attach_se", "feature_map_layers", "find_feature_layer"]
