"""The ASD models: encoders, SE fusion, temporal models, heads, and the staged ``ASDModel``."""
from .asd_model import ARCHITECTURE, ASDModel, build_model, model_inputs
from .config import MODALITY_ORDER, ModelConfig
from .fusion import ModalityFusion, modality_shares
from .heads import speaking_probability
from .registry import AUDIO_ENCODERS, VISUAL_ENCODERS, build_encoder

__all__ = [
    "ARCHITECTURE", "ASDModel", "AUDIO_ENCODERS", "MODALITY_ORDER", "ModalityFusion", "ModelConfig",
    "VISUAL_ENCODERS", "build_encoder", "build_model", "model_inputs", "modality_shares", "speaking_probability",
]
