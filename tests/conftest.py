"""Shared test settings: small thread counts so the suite behaves on 2-core CI machines."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory):
    """A checkpoint of the default ASD model with seed-0 weights (the plumbing, not the accuracy)."""
    from asd_explain.models.asd_model import ASDModel
    from asd_explain.models.config import ModelConfig
    from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "untrained.pt"
    atomic_torch_save(make_checkpoint(ASDModel(ModelConfig())), path)
    return path
