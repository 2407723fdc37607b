"""PNG + JSON + maps per track, and the explain-track command."""
from __future__ import annotations

import json

import cv2
import numpy as np
from _av_tiny import small_model, tiny_corpus_and_store
from click.testing import CliRunner

from asd_explain.cli.explain_track import command as explain_track_command
from asd_explain.data.dataset import normalise_frames
from asd_explain.data.store import TrackStore
from asd_explain.explain.av import TrackExplanation
from asd_explain.explain.av_render import crops_to_uint8, frame_picks, safe_name, save_track_explanation
from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint


def test_crops_round_trip_and_names():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(3, 8, 9), dtype=np.uint8)
    np.testing.assert_array_equal(crops_to_uint8(normalise_frames(grey))[..., 0], grey)
    rgb = rng.integers(0, 256, size=(2, 5, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crops_to_uint8(normalise_frames(rgb)), rgb)
    assert safe_name("vid-1_0_10:3") == "vid-1_0_10_3" and safe_name("a/b c") == "a_b_c"
    np.testing.assert_array_equal(frame_picks(100, 5), [0, 25, 50, 74, 99])
    np.testing.assert_array_equal(frame_picks(3, 8), [0, 1, 2])


def test_saved_files_hold_the_explanation(tmp_path):
    n = 10
    face = np.zeros((n, 32, 32), np.float32)
    face[:, 20:24, 10:20] = 1.0
    shares = {"audio": np.linspace(0.2, 0.4, n, dtype=np.float32), "face": np.full(n, 0.4, np.float32)}
    shares["body"] = 1 - shares["audio"] - shares["face"]
    explanation = TrackExplanation(
        scores=np.linspace(0, 1, n).astype(np.float32), face_maps=face, body_maps=face.copy(),
        audio_attention=np.tile(np.linspace(0, 1, 4 * n, dtype=np.float32), (40, 1)),
        audio_features=np.zeros((40, 4 * n), np.float32), modality_shares=shares, entity_id="v_0_1:2",
        timestamps_s=np.arange(n) * 0.04, labels=(np.arange(n) > 4).astype(np.int64))
    crops = np.full((n, 32, 32), 128, np.uint8)
    paths = save_track_explanation(explanation, tmp_path, face=crops, body=crops, extra={"video_id": "v"})
    assert paths["png"].name == "v_0_1_2.png"
    picture = cv2.imread(str(paths["png"]))
    assert picture is not None and picture.shape[0] > 400 and picture.shape[1] > 800
    saved = json.loads(paths["json"].read_text())
    assert saved["video_id"] == "v" and saved["n_frames"] == n and saved["labels"][5] == 1
    np.testing.assert_allclose(saved["scores"], explanation.scores, atol=1e-5)
    np.testing.assert_allclose(saved["modality_shares"]["audio"], shares["audio"], atol=1e-5)
    assert abs(saved["track_shares"]["audio"] - 0.3) < 1e-6 and saved["maps"]["face"] == [n, 32, 32]
    with np.load(paths["maps"]) as maps:
        np.testing.assert_allclose(maps["face_maps"], face, atol=1e-3)
        assert maps["audio_attention"].shape == (40, 4 * n) and maps["face_maps"].dtype == np.float16


def test_explain_track_command(tmp_path_factory, tmp_path):
    _, store_path = tiny_corpus_and_store(tmp_path_factory)
    store = TrackStore(store_path)
    checkpoint = tmp_path / "tiny.pt"
    atomic_torch_save(make_checkpoint(small_model()), checkpoint)
    entity = store.entity_ids[1]
    args = ["--data", str(store_path), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out"), "--quiet"]
    out = CliRunner().invoke(explain_track_command, args + ["--entity", entity, "--frames", "4"])
    assert out.exit_code == 0, out.output
    saved = json.loads((tmp_path / "out" / f"{safe_name(entity)}.json").read_text())
    track = store.read(entity, modalities=())
    assert saved["n_frames"] == track.n_frames and saved["video_id"] == track.video_id
    assert saved["labels"] == (track.labels == 1).astype(int).tolist()
    assert set(saved["track_shares"]) == {"audio", "face", "body"}
    assert abs(sum(saved["track_shares"].values()) - 1) < 1e-5
    typo = CliRunner().invoke(explain_track_command, args + ["--entity", entity[:-1] + "9"])
    assert typo.exit_code != 0 and "no track" in typo.output and "did you mean" in typo.output
