"""Training and evaluation of the ASD model: BIAS loss, loop, checkpoints, DDP, store batch sources."""
from .checkpoint import CheckpointError, Preprocessing, load_checkpoint, load_model
from .config import DataConfig, OptimConfig, TrainConfig
from .loop import Trainer, TrainResult, train
from .losses import ASDLoss

__all__ = ["ASDLoss", "CheckpointError", "DataConfig", "OptimConfig", "Preprocessing", "TrainConfig",
           "TrainResult", "Trainer", "load_checkpoint", "load_model", "train"]
