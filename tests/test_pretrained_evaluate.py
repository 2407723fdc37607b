"""``asd-explain evaluate --pretrained``: a store scored by a published model as the authors' code scores it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _store import write_store
from click.testing import CliRunner

from asd_explain.cli.evaluate import command as evaluate_command
from asd_explain.data.store import Track
from asd_explain.models.heads import speaking_probability
from asd_explain.models.pretrained import load_pretrained
from asd_explain.train.pretrained_sources import chunk_mfcc

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "talking_head_1.mp4"
FPS = 25.0


def _track(i: int, faces: np.ndarray, audio: np.ndarray, label: int) -> Track:
    n = len(faces)
    return Track(entity_id=f"vid{i}_0_1:{i}", video_id=f"vid{i}", fps=FPS, timestamps_s=10.0 * i + np.arange(n) / FPS,
                 labels=np.full(n, label, np.int8), face=faces, body=None,
                 face_boxes=np.tile([0.2, 0.1, 0.6, 0.7], (n, 1)), body_boxes=None, audio=audio.astype(np.int16))


@pytest.fixture(scope="module")
def reference():
    path = WEIGHTS / "light-asd" / "reference_io.pt"
    if not path.is_file() or not (WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model").is_file():
        pytest.skip(f"published light-asd weights / reference_io.pt not found in {WEIGHTS.parent}")
    torch.set_num_threads(1)
    return torch.load(path, weights_only=True)


def test_evaluate_pretrained_reproduces_the_authors_scores(reference, tmp_path: Path) -> None:
    """A store track made of reference_io's 50 faces and the 2 s of audio they come with is scored as the
    authors' model scores it; the same faces with silence get lower scores."""
    if not REAL.is_file():
        pytest.skip(f"{REAL} not found")
    from asd_explain.pretrained_inputs.audio import decode_audio_s16

    samples, _ = decode_audio_s16(REAL)
    faces = reference["faces_uint8"][0].numpy()
    store = write_store(tmp_path / "store", [_track(0, faces, samples[:32000], 1),
                                             _track(1, faces, np.zeros(32000), 0)])
    weights = WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model"
    result = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--weights", str(weights), "--data",
                                                   str(store.path), "--out", str(tmp_path / "eval"), "--quiet",
                                                   "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "average precision: 100.00%" in result.output
    predictions = pd.read_csv(tmp_path / "eval" / "predictions.csv", header=None)
    scores = {entity: rows.sort_values(1)[8].to_numpy() for entity, rows in predictions.groupby(7)}  # AVA columns
    authors = speaking_probability(reference["logits"]).numpy()
    print("max |score - authors'|:", np.abs(scores["vid0_0_1:0"] - authors).max())
    # exactly the model on psf MFCC of the chunk, completed from 199 to 200 frames by wrapping
    model = load_pretrained("light-asd", weights)
    mfcc = torch.from_numpy(chunk_mfcc(samples[:32000], 50, FPS))[None]
    with torch.no_grad():
        ours = speaking_probability(model(face=model.preprocessing.normalise_faces(reference["faces_uint8"]),
                                          audio=mfcc)["logits"])[0].numpy()
    np.testing.assert_allclose(scores["vid0_0_1:0"], ours, atol=1e-5)
    # the authors' 199 frames: the 200th only reaches the last frames, but the backward GRU carries it back
    np.testing.assert_allclose(scores["vid0_0_1:0"], authors, atol=5e-3)
    assert scores["vid1_0_1:1"].max() < scores["vid0_0_1:0"].min()


def test_evaluate_pretrained_rejects_other_crops(reference, tmp_path: Path) -> None:
    store = write_store(tmp_path / "store", [_track(0, np.zeros((10, 96, 96), np.uint8), np.zeros(6400), 0)])
    result = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--weights",
                                                   str(WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model"),
                                                   "--data", str(store.path), "--out", str(tmp_path / "eval")])
    assert result.exit_code != 0
    assert f"{store.path}: face crops are grey 96x96, but light-asd needs grey 112x112 crops" in result.output
    both = CliRunner().invoke(evaluate_command, ["--pretrained", "light-asd", "--checkpoint", "x.pt", "--data",
                                                 str(store.path), "--out", str(tmp_path / "eval")])
    assert both.exit_code != 0 and "exactly one of --checkpoint FILE and --pretrained NAME" in both.output


def test_chunk_mfcc_are_slices_of_the_whole_track(tmp_path: Path) -> None:
    """Chunks of a track get the rows of the whole track's psf MFCC (4 per frame); only its end is wrapped."""
    from asd_explain.data.dataset import TrackDataset
    from asd_explain.data.psf_mfcc import psf_mfcc
    from asd_explain.train.pretrained_sources import PsfAudioDataset

    audio = np.random.default_rng(0).standard_normal(50 * 640) * 3000
    store = write_store(tmp_path / "store", [_track(0, np.zeros((50, 112, 112), np.uint8), audio, 1)])
    whole = psf_mfcc(store.read(store.entity_ids[0]).audio)  # (199, 13)
    dataset = PsfAudioDataset(TrackDataset(store, modalities=("face",)))
    first, last = dataset[(0, 0, 25, 0)]["audio"], dataset[(0, 25, 25, 0)]["audio"]
    assert first.shape == last.shape == (100, 13)
    np.testing.assert_allclose(first, whole[:100], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(last[:99], whole[100:], rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(last[99], last[0])  # wrapped
