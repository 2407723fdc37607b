"""data.body_hide_face: the face box of each body crop at the normalisation mean, mapped as the crop was cut,
the same at training (store loader) and at inference (the checkpoint's preprocessing)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _av_tiny import small_model
from _store import write_store
from test_loader_dataset import make_track

from asd_explain.constants import GREY_MEAN, IMAGENET_MEAN
from asd_explain.data.body_hide import face_window_in_body, hide_face_in_body, mean_fill
from asd_explain.data.dataset import TrackDataset, collate
from asd_explain.data.preprocessing import Preprocessing
from asd_explain.explain.av import track_batch
from asd_explain.media.crops import crop_resize
from asd_explain.train.checkpoint import atomic_torch_save, load_model, make_checkpoint
from asd_explain.train.config import DataConfig
from asd_explain.train.store_batches import StoreTrackSource, preprocessing_of

FRAME = (360, 640)  # H, W
BODY = np.array([0.1, 0.2, 0.6, 1.0])  # pixel window x [64, 384), y [72, 360): 320 x 288 -> 160 x 144, scale 1/2
FACE = np.array([0.2, 0.2, 0.3, 0.4])  # pixel window x [128, 192), y [72, 144)


def test_known_geometry():
    assert face_window_in_body(FACE, BODY, (144, 160), FRAME) == (32, 0, 64, 36)
    # margin 0.5 face sizes: [0.15, 0.1, 0.35, 0.5] -> x [96, 224), y [36, 180) -> crop x [16, 80), y [0, 54)
    assert face_window_in_body(FACE, BODY, (144, 160), FRAME, margin=0.5) == (16, 0, 80, 54)
    # no frame size: the same mapping on normalised coordinates
    assert face_window_in_body(FACE, BODY, (144, 160)) == (32, 0, 64, 36)
    # a face outside the body box hides nothing
    x1, y1, x2, y2 = face_window_in_body([0.8, 0.1, 0.9, 0.2], BODY, (144, 160), FRAME)
    assert x2 - x1 == 0 or y2 - y1 == 0


def test_window_covers_every_crop_pixel_the_face_reaches():
    """Cut the body crop from a frame whose face box is white and the rest black (as asd-prep cuts it): every
    non-black crop pixel lies inside the hidden window, and the window is not larger than one pixel more."""
    frame = np.zeros((*FRAME, 3), np.uint8)
    frame[72:144, 128:192] = 255
    crop = crop_resize(frame, BODY, (144, 160), "gray")
    ys, xs = np.nonzero(crop)
    x1, y1, x2, y2 = face_window_in_body(FACE, BODY, (144, 160), FRAME)
    assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2
    assert xs.min() <= x1 + 1 and xs.max() >= x2 - 2 and ys.max() >= y2 - 2


@pytest.mark.parametrize("rgb", [False, True])
def test_hidden_pixels_at_the_mean_the_rest_unchanged(rgb):
    rng = np.random.default_rng(0)
    body = rng.integers(0, 256, (3, 144, 160, 3) if rgb else (3, 144, 160), dtype=np.uint8)
    faces = np.stack([FACE, FACE + [0.05, 0, 0.05, 0], FACE])
    before = body.copy()
    out = hide_face_in_body(body, faces, np.tile(BODY, (3, 1)), FRAME)
    fill = np.round(np.asarray(IMAGENET_MEAN if rgb else [GREY_MEAN]) * 255)
    np.testing.assert_array_equal(mean_fill(3 if rgb else 1), fill)
    for t in range(3):
        x1, y1, x2, y2 = face_window_in_body(faces[t], BODY, (144, 160), FRAME)
        inside = np.zeros((144, 160), bool)
        inside[y1:y2, x1:x2] = True
        np.testing.assert_array_equal(out[t][inside].reshape(-1, 3 if rgb else 1), np.broadcast_to(
            fill, (int(inside.sum()), len(fill))))
        np.testing.assert_array_equal(out[t][~inside], body[t][~inside])
    assert (out[1] != out[0]).any()  # the window follows the face frame by frame
    np.testing.assert_array_equal(body, before)  # the input is not written


def _hidden(track, margin=0.0):
    return hide_face_in_body(track.body, track.face_boxes, track.body_boxes, track.frame_size, margin)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tracks = [dataclasses.replace(make_track(i, 6), frame_size=FRAME) for i in range(2)]
    return write_store(tmp_path_factory.mktemp("hide") / "store", tracks)


def test_store_loader_hides_the_face(store):
    track = store.read(store.entity_ids[0])
    assert track.frame_size == FRAME
    plain, hidden = TrackDataset(store)[0], TrackDataset(store, body_hide_face=0.0)[0]
    np.testing.assert_array_equal(plain["body"], track.body)
    np.testing.assert_array_equal(hidden["body"], _hidden(track))
    x1, y1, x2, y2 = face_window_in_body(track.face_boxes[0], track.body_boxes[0], (64, 48), FRAME)
    assert (x2 - x1) * (y2 - y1) > 0 and (hidden["body"][:, y1:y2, x1:x2] == 106).all()
    batch = collate([hidden])  # normalised: the hidden region is at the normalisation mean (~0)
    assert np.abs(batch["body"][0, :, 0, y1:y2, x1:x2].numpy()).max() < 0.01
    np.testing.assert_array_equal(hidden["face"], plain["face"])


def test_checkpoint_carries_the_option_to_inference(tmp_path, store):
    config = small_model().config
    prep = preprocessing_of(store, config, DataConfig(body_hide_face=True).body_hide_face_margin)
    assert prep.body_hide_face and prep.body_hide_face_margin == 0.1
    assert not preprocessing_of(store, config).body_hide_face
    atomic_torch_save(make_checkpoint(small_model(), preprocessing=prep), tmp_path / "hide.pt")
    model = load_model(tmp_path / "hide.pt")[0]
    assert model.preprocessing == prep
    track = store.read(store.entity_ids[0])
    arrays = dict(face=track.face, body=track.body, audio=track.audio, timestamps_s=track.timestamps_s,
                  fps=track.fps)
    with pytest.raises(ValueError, match="hide the face"):
        track_batch(model, **arrays)
    batch = track_batch(model, **arrays, face_boxes=track.face_boxes, body_boxes=track.body_boxes,
                        frame_size=track.frame_size)
    expected = Preprocessing().normalise(_hidden(track, 0.1))
    np.testing.assert_allclose(batch["body"][0].numpy(), expected, rtol=0, atol=1e-6)
    # evaluate / occlusion read the store through StoreTrackSource with the checkpoint's preprocessing
    loaded = next(StoreTrackSource(store, model.config, preprocessing=model.preprocessing).batches(0, [0]))
    entity = store.entity_ids.index(loaded["entity_ids"][0])
    first = store.read(store.entity_ids[entity])
    n = len(first.timestamps_s)
    np.testing.assert_allclose(loaded["body"][0, :n].numpy(), Preprocessing().normalise(_hidden(first, 0.1)),
                               rtol=0, atol=1e-6)
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    # compare reads the store with the checkpoint's preprocessing too
    from asd_explain.explain.av_compare import _dataset

    item = _dataset(store, model)[entity]
    hidden = _hidden(first, 0.1)  # the raw crop with the face box at the fill value (the collate normalises)
    assert not np.array_equal(np.asarray(first.body).reshape(hidden.shape), hidden)
    np.testing.assert_array_equal(np.asarray(item["body"]).reshape(hidden.shape), hidden)


def test_prepared_store_hides_every_mouth_pixel_of_the_body_crops(tmp_path_factory):
    """On a prepared synthetic store (frame size recorded by asd-prep), the corpus's mouth box lies inside
    the hidden window of every body crop: the body stream no longer sees the mouth."""
    from _av_tiny import tiny_corpus_and_store

    from asd_explain.analysis.av_pass import load_evidence_for
    from asd_explain.data.store import TrackStore
    from asd_explain.explain.av_evidence import box_masks, track_evidence
    corpus, path = tiny_corpus_and_store(tmp_path_factory)
    store = TrackStore(path)
    mouth_pixels = 0
    for entity_id in store.entity_ids:
        track = store.read(entity_id)
        assert track.frame_size is not None and track.body is not None
        evidence = load_evidence_for(corpus, track.video_id)
        mapped = track_evidence(track, evidence)
        mouths = box_masks(track.body_boxes, evidence["mouth_box"][mapped.rows, mapped.person],
                           (int(evidence["width"]), int(evidence["height"])), track.body.shape[1:3])
        for t in range(track.n_frames):
            x1, y1, x2, y2 = face_window_in_body(track.face_boxes[t], track.body_boxes[t], track.body.shape[1:3],
                                                 track.frame_size, 0.1)
            hidden = np.zeros(track.body.shape[1:3], bool)
            hidden[y1:y2, x1:x2] = True
            assert not (mouths[t] & ~hidden).any(), f"{entity_id} frame {t}: mouth outside the hidden window"
            mouth_pixels += int(mouths[t].sum())
    assert mouth_pixels > 0
