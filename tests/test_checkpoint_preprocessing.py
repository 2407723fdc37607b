"""Inference follows the preprocessing saved in the checkpoint (normalisation, audio features, frame rate)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _av_tiny import small_model
from _store import write_store
from test_loader_dataset import make_track

from asd_explain.data.audio_features import AudioFeatureConfig, audio_features
from asd_explain.data.dataset import TrackDataset, normalise_frames
from asd_explain.data.preprocessing import Preprocessing, model_preprocessing
from asd_explain.data.store import StoreError
from asd_explain.explain.av import track_batch
from asd_explain.train.checkpoint import CheckpointError, atomic_torch_save, load_model, make_checkpoint
from asd_explain.train.store_batches import StoreTrackSource

FPS = 25.0


def _arrays(n: int = 6):
    rng = np.random.default_rng(3)
    ts = np.arange(n) / FPS
    audio = (rng.standard_normal(int(round(n / FPS * 16000))) * 3000).astype(np.int16)
    face = rng.integers(0, 256, (n, 64, 64), dtype=np.uint8)
    return dict(face=face, body=face[:, ::-1].copy(), audio=audio, timestamps_s=ts, fps=FPS)


def _saved(tmp_path, prep, name="model.pt"):
    model = small_model()
    atomic_torch_save(make_checkpoint(model, preprocessing=prep), tmp_path / name)
    return load_model(tmp_path / name)[0]


def test_saved_preprocessing_drives_track_batch(tmp_path):
    arrays = _arrays()
    default = _saved(tmp_path, None, "default.pt")
    assert model_preprocessing(default) == Preprocessing.for_model(default.config)
    changed = _saved(tmp_path, Preprocessing(face_mean=0.5, face_std=0.25, sample_rate_hz=8000))
    assert changed.preprocessing.face_mean == 0.5 and changed.preprocessing.sample_rate_hz == 8000
    base, batch = track_batch(default, **arrays), track_batch(changed, **arrays)
    expected_face = (arrays["face"].astype(np.float32) / 255.0 - 0.5) / 0.25
    np.testing.assert_allclose(batch["face"][0, :, 0].numpy(), expected_face, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(base["face"][0].numpy(), normalise_frames(arrays["face"]), rtol=0, atol=0)
    eight_khz = audio_features(arrays["audio"], arrays["timestamps_s"], FPS, AudioFeatureConfig(sample_rate_hz=8000))
    np.testing.assert_allclose(batch["audio"][0].numpy(), eight_khz, rtol=0, atol=0)
    assert not torch.allclose(batch["audio"], base["audio"])
    with torch.no_grad():  # the model sees different inputs, so it says something else
        assert not torch.allclose(changed(face=batch["face"], body=batch["body"], audio=batch["audio"])["logits"],
                                  changed(face=base["face"], body=base["body"], audio=base["audio"])["logits"])


def test_checkpoint_without_preprocessing_gets_the_defaults(tmp_path):
    checkpoint = make_checkpoint(small_model())
    del checkpoint["preprocessing"]
    atomic_torch_save(checkpoint, tmp_path / "old.pt")
    model = load_model(tmp_path / "old.pt")[0]
    assert model.preprocessing == Preprocessing()


@pytest.mark.parametrize(("prep", "message"), [
    (Preprocessing(fps_policy="resample:30"), "fps_policy 'resample:30' is not supported"),
    (Preprocessing(audio_frames_per_video_frame=2), "2 audio frames per video frame"),
    (Preprocessing(n_mels=64), "64 logmel features but the model takes 40"),
])
def test_preprocessing_inference_cannot_redo_is_a_one_line_error(tmp_path, prep, message):
    atomic_torch_save(make_checkpoint(small_model(), preprocessing=prep), tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message) as err:
        load_model(tmp_path / "bad.pt")
    assert str(err.value).startswith(str(tmp_path / "bad.pt")) and "\n" not in str(err.value)


def test_store_batches_use_the_checkpoint_normalisation(tmp_path):
    store = write_store(tmp_path / "store", [make_track(0, 5), make_track(1, 4)])
    model = small_model(face_channels=1)
    plain = next(StoreTrackSource(store, model.config).batches(0, [0]))
    prep = Preprocessing(face_mean=0.5, face_std=0.25)
    shifted = next(StoreTrackSource(store, model.config, preprocessing=prep).batches(0, [0]))
    faces = (shifted["face"] * 0.25 + 0.5) * 255.0
    np.testing.assert_allclose(faces.numpy(), ((plain["face"] * 0.1688 + 0.4161) * 255.0).numpy(), atol=1e-3)
    assert TrackDataset(store, grey_norm=(0.5, 0.25)).grey_norm == (0.5, 0.25)
    with pytest.raises(StoreError, match="audio at 16000 Hz but the checkpoint's features are at 8000 Hz"):
        StoreTrackSource(store, model.config, preprocessing=Preprocessing(sample_rate_hz=8000))
    with pytest.raises(StoreError, match="face crops are 112x112 but the checkpoint was trained on 96x96"):
        StoreTrackSource(store, model.config, preprocessing=Preprocessing(extra={"face_size": [96, 96]}))
