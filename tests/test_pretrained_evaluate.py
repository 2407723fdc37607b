"""``asd-explain evaluate --pretrained``: a store scored by a published model equals the model run by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _store import write_store
from click.testing import CliRunner

from asd_explain.cli.evaluate import command as evaluate_command
from asd_explain.data.audio_features import AudioFeatureConfig, audio_features
from asd_explain.data.store import Track
from asd_explain.models.heads import speaking_probability
from asd_explain.models.pretrained import load_pretrained

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"
FPS = 25.0


def _track(i: int, faces: np.ndarray) -> Track:
    rng = np.random.default_rng(i)
    n = len(faces)
    ts = 10.0 * i + np.arange(n) / FPS
    audio = (rng.standard_normal(int(round(n / FPS * 16000))) * 2000 * (1 + (np.arange(n) // 5 % 2).repeat(640)))
    return Track(entity_id=f"vid{i}_0_1:{i}", video_id=f"vid{i}", fps=FPS, timestamps_s=ts,
                 labels=(np.arange(n) // 5 % 2).astype(np.int8), face=faces, body=None,
                 face_boxes=np.tile([0.2, 0.1, 0.6, 0.7], (n, 1)), body_boxes=None, audio=audio.astype(np.int16))


@pytest.fixture(scope="module")
def reference():
    path = WEIGHTS / "light-asd" / "reference_io.pt"
    if not path.is_file() or not (WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model").is_file():
        pytest.skip(f"published light-asd weights / reference_io.pt not found in {WEIGHTS.parent}")
    torch.set_num_threads(1)
    return torch.load(path, weights_only=True)


def test_evaluate_pretrained_scores_equal_the_model(reference, tmp_path: Path) -> None:
    faces = reference["faces_uint8"][0].numpy()
    store = write_store(tmp_path / "store", [_track(0, faces[:20]), _track(1, faces[20:50])])
    weights = WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model"
    result = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--weights", str(weights), "--data",
                                                   str(store.path), "--out", str(tmp_path / "eval"), "--quiet",
                                                   "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "average precision:" in result.output
    predictions = pd.read_csv(tmp_path / "eval" / "predictions.csv")
    assert len(predictions) == 50
    model = load_pretrained("light-asd", weights)
    config = AudioFeatureConfig(kind="mfcc")
    for entity_id in store.entity_ids:
        track = store.read(entity_id)
        mfcc = torch.from_numpy(audio_features(track.audio, track.timestamps_s, track.fps, config))[None]
        with torch.no_grad():
            logits = model(face=model.preprocessing.normalise_faces(torch.from_numpy(track.face))[None],
                           audio=mfcc)["logits"]
        rows = predictions[predictions["entity_id"] == entity_id].sort_values("frame_timestamp")
        np.testing.assert_allclose(rows["score"].to_numpy(), speaking_probability(logits)[0].numpy(), atol=1e-5)


def test_evaluate_pretrained_rejects_other_crops(reference, tmp_path: Path) -> None:
    faces = np.zeros((10, 96, 96), np.uint8)
    store = write_store(tmp_path / "store", [_track(0, faces)])
    result = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--weights",
                                                   str(WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model"),
                                                   "--data", str(store.path), "--out", str(tmp_path / "eval")])
    assert result.exit_code != 0
    assert f"{store.path}: face crops are grey 96x96, but light-asd needs grey 112x112 crops" in result.output
    both = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--checkpoint", "x.pt", "--data",
                                                 str(store.path), "--out", str(tmp_path / "eval")])
    assert both.exit_code != 0 and "exactly one of --checkpoint FILE and --pretrained NAME" in both.output
