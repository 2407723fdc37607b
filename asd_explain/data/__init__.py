"""Track store (reader/writer), torch Dataset, batch samplers, audio features and augmentation."""
from .audio_features import AudioFeatureConfig, audio_features
from .dataset import TrackDataset, collate
from .sampler import ClipBatchSampler, FrameBudgetBatchSampler
from .store import STORE_FORMAT_VERSION, StoreError, Track, TrackStore

__all__ = ["AudioFeatureConfig", "ClipBatchSampler", "FrameBudgetBatchSampler", "STORE_FORMAT_VERSION",
           "StoreError", "Track", "TrackDataset", "TrackStore", "audio_features", "collate"]
