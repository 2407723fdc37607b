"""A tiny synthetic corpus with its track store (made once per test session) and a small AV model."""
from __future__ import annotations

from pathlib import Path

from asd_explain.models import ASDModel, ModelConfig

SMALL = dict(visual_widths=(8, 8, 16, 32), audio_widths=(8, 8, 16, 32), embed_dim=32, temporal_hidden=16)
_CACHE: dict[str, Path] = {}


def tiny_corpus_and_store(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, store): ``asd-prep synth --preset tiny --seed 5 --split val`` prepared like WASD (body boxes
    from the corpus's body CSV). Made on the first call of the session, then reused."""
    if "root" not in _CACHE:
        from data_prep.categories import Categories
        from data_prep.prepare import prepare_store
        from data_prep.settings import PrepSettings
        from data_prep.synth import generate_corpus

        root = tmp_path_factory.mktemp("av_tiny")
        corpus = generate_corpus(root / "corpus", preset="tiny", seed=5, split="val", workers=1, progress=False)
        prepare_store("wasd", corpus / "videos", corpus / "annotations", root / "store", split="val",
                      settings=PrepSettings(body_source="csv"), body_annotations=corpus / "annotations",
                      categories=Categories.load(corpus / "metadata.csv"), progress=False)
        _CACHE["root"] = root
    root = _CACHE["root"]
    return root / "corpus", root / "store"


def small_model(**overrides) -> ASDModel:
    """An untrained small AV model in eval mode (``overrides`` go to ModelConfig)."""
    return ASDModel(ModelConfig(**{**SMALL, **overrides})).eval()
