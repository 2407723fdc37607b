"""Tiny inputs for the analysis tests: a 5-video synthetic corpus (one per WASD category) and its store, an
untrained small AV checkpoint and a mobilenet_v3_small + SE classifier (cheaper than resnet18 on CPU) trained
for one step on 64 px shapes."""
from __future__ import annotations

from pathlib import Path

import torch

from asd_explain.config import config_from_dict
from asd_explain.data.store import TrackStore
from asd_explain.image.recipe import ImageRunConfig, train_classifier
from asd_explain.models import ModelConfig
from asd_explain.models.asd_model import ASDModel
from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint
from asd_explain.train.store_batches import preprocessing_of

SMALL_AV = {"visual_widths": (8, 8, 16, 32), "audio_widths": (8, 8, 16, 32), "embed_dim": 32,
            "temporal_hidden": 16}


def make_corpus_and_store(root: Path) -> tuple[Path, Path]:
    """(corpus, store): 5 videos x 2 s at 320x180, categories OC, SI, FO, HVN, SS; store with body crops."""
    from data_prep.categories import Categories
    from data_prep.prepare import prepare_store
    from data_prep.settings import PrepSettings
    from data_prep.synth import generate_corpus

    corpus = generate_corpus(root / "corpus", videos=5, seconds=2.0, size=(320, 180), seed=5, split="val",
                             workers=1, progress=False)
    store = root / "store" / "val"
    prepare_store("wasd", corpus / "videos", corpus / "annotations", store, split="val",
                  settings=PrepSettings(body_source="csv"), body_annotations=corpus / "annotations",
                  categories=Categories.load(corpus / "metadata.csv"), progress=False)
    return corpus, store


def make_av_checkpoint(store: Path, path: Path, seed: int = 0) -> Path:
    """An untrained small face + body + audio model (fixed seed) saved as a training checkpoint.

    Its SE layers get weights of std 1 (an untrained block gates every channel at about 0.5, which leaves
    nothing to select), so the heatmaps and shares vary as a trained model's do.
    """
    torch.manual_seed(seed)
    config = ModelConfig(**SMALL_AV)
    model = ASDModel(config).eval()
    for block in model.se_blocks().values():
        torch.nn.init.normal_(block.fc1.weight, std=1.0)
        torch.nn.init.normal_(block.fc2.weight, std=1.0)
    checkpoint = make_checkpoint(model, preprocessing=preprocessing_of(TrackStore(store), config))
    return atomic_torch_save(checkpoint, path)


def make_image_checkpoint(out: Path) -> Path:
    """mobilenet_v3_small + SE trained one step (one batch of 16 shapes images of 64 px)."""
    cfg = config_from_dict(ImageRunConfig, {
        "data": {"image_size": 64, "train_count": 16, "val_count": 8},
        "model": {"arch": "mobilenet_v3_small", "se": True},
        "train": {"epochs": 1, "batch_size": 16, "device": "cpu"},
    })
    train_classifier(cfg, out)
    return out / "checkpoint.pt"
