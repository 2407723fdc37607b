"""End to end on a tiny synthetic corpus: prepare stores, train a few steps, evaluate, score officially."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from _ava_reference import check_official_pair, official_read, reference_ap
from click.testing import CliRunner

from asd_explain.cli.evaluate import command as evaluate_command
from asd_explain.data.store import StoreError, TrackStore
from asd_explain.metrics.ava_scoring import score_csv
from asd_explain.train.recipe import load_train_config, parse_overrides, train_on_store
from asd_explain.train.store_batches import StoreTrackSource, check_store_fits, evaluation_batches
from data_prep.categories import Categories
from data_prep.prepare import prepare_store
from data_prep.settings import PrepSettings
from data_prep.synth import generate_corpus

pytestmark = pytest.mark.slow
CONFIGS = Path(__file__).parents[1] / "configs"

SMALL_MODEL = ["model.visual_widths=[8, 8, 16, 32]", "model.audio_widths=[8, 8, 16, 32]", "model.embed_dim=32",
               "model.temporal_hidden=16"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    for split, seed in (("train", 3), ("val", 4)):
        corpus = generate_corpus(root / f"corpus_{split}", preset="tiny", seed=seed, split=split, workers=1,
                                 progress=False)
        prepare_store("wasd", corpus / "videos", corpus / "annotations", root / "store" / split, split=split,
                      settings=PrepSettings(body_source="csv"), body_annotations=corpus / "annotations",
                      categories=Categories.load(corpus / "metadata.csv"), progress=False)
    corpus = root / "corpus_val"
    prepare_store("wasd", corpus / "videos", corpus / "annotations", root / "nobody", split="val",
                  settings=PrepSettings(body_source="none"), progress=False)
    return root


def test_evaluation_batches_cover_every_frame_once():
    batches = evaluation_batches([5, 12, 3], chunk_frames=4, batch_frames=8)
    frames = sorted((t, s + i) for batch in batches for t, s, n, _ in batch for i in range(n))
    assert frames == [(0, i) for i in range(5)] + [(1, i) for i in range(12)] + [(2, i) for i in range(3)]
    assert all(len({n for _, _, n, _ in batch}) == 1 for batch in batches)  # equal lengths: no padding


def test_train_then_evaluate_then_score(stores, tmp_path):
    overrides = parse_overrides(SMALL_MODEL + [f"data.store={stores / 'store'}", f"run_dir={tmp_path / 'run'}",
                                               "optim.epochs=2", "optim.max_time_s=0", "data.batch_frames=128"])
    config = load_train_config(CONFIGS / "train_synth.yaml", overrides=overrides)
    result = train_on_store(config, resume=False)
    assert result.progress.step >= 2 and result.progress.last_val_ap > 0
    checkpoint_prep = torch.load(result.last_checkpoint, weights_only=True)["preprocessing"]
    assert checkpoint_prep["face_size"] == 112 and checkpoint_prep["extra"]["body_source"] == "csv"

    out = CliRunner().invoke(evaluate_command, ["--checkpoint", str(result.last_checkpoint), "--data",
                                                str(stores / "store"), "--split", "val", "--out",
                                                str(tmp_path / "eval"), "--quiet"])
    assert out.exit_code == 0, out.output
    predictions = tmp_path / "eval" / "predictions.csv"
    original = stores / "corpus_val" / "annotations" / "val_orig.csv"
    assert len(official_read(predictions, True)) == len(pd.read_csv(original))
    metrics = pd.read_json(tmp_path / "eval" / "metrics.json", typ="series")
    # Our predictions score against the corpus's own annotation file, exactly as the official scorer would.
    official = reference_ap(original, predictions, gt_header=True, pred_header=False)
    assert abs(metrics["ap"] - official) <= 1e-9
    assert abs(score_csv(original, predictions).ap - official) <= 1e-9
    assert check_official_pair(tmp_path / "eval" / "ground_truth.csv", predictions) == len(pd.read_csv(original))
    assert set(metrics["per_category"]) <= {"OC", "SI", "FO", "HVN", "SS"} and metrics["per_category"]


def test_store_without_body_is_a_clear_error(stores, tmp_path):
    from asd_explain.models import ModelConfig

    store = TrackStore(stores / "nobody")
    with pytest.raises(StoreError) as error:
        check_store_fits(store, ModelConfig())
    assert "\n" not in str(error.value) and "no body crops" in str(error.value)
    StoreTrackSource(store, ModelConfig(modalities=("audio", "face")))  # fine without body
