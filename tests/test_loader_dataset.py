"""TrackDataset, collate, augmentation and the batch samplers on a small store written in the test."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _store import write_store
from torch.utils.data import DataLoader

from asd_explain.data.augment import augment_frames, mix_at_snr, shift_frames
from asd_explain.data.dataset import GREY_MEAN, GREY_STD, RGB_MEAN, RGB_STD, TrackDataset, collate, normalise_frames
from asd_explain.data.sampler import ClipBatchSampler, FrameBudgetBatchSampler
from asd_explain.data.store import Track
from asd_explain.data.store_writer import open_store_for_writing

LENGTHS = [7, 5, 12, 3, 9]


def make_track(i: int, n_frames: int, fps: float = 25.0) -> Track:
    rng = np.random.default_rng(i)
    ts = i + np.arange(n_frames) / fps
    n_audio = int(round((ts[-1] - ts[0] + 1 / fps) * 16000))
    return Track(
        entity_id=f"v{i % 2}_0_1:{i}", video_id=f"v{i % 2}", fps=fps, timestamps_s=ts,
        labels=(np.arange(n_frames) % 3).astype(np.int8),
        face=rng.integers(0, 256, (n_frames, 112, 112), dtype=np.uint8),
        body=rng.integers(0, 256, (n_frames, 64, 48), dtype=np.uint8),
        face_boxes=np.tile([0.1, 0.1, 0.2, 0.3], (n_frames, 1)), body_boxes=np.tile([0, 0, 0.5, 1.0], (n_frames, 1)),
        audio=(rng.standard_normal(n_audio) * 2000).astype(np.int16),
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("s") / "store", (make_track(i, n) for i, n in enumerate(LENGTHS)))


def test_item_values(store):
    dataset = TrackDataset(store)
    index = store.entity_ids.index("v0_0_1:2")
    item = dataset[index]
    track = make_track(2, 12)
    np.testing.assert_array_equal(item["face"], track.face)
    batch = collate([item])
    expected = (track.face.astype(np.float32) / 255 - GREY_MEAN) / GREY_STD
    np.testing.assert_allclose(batch["face"][0, :, 0].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert batch["body"].shape == (1, 12, 1, 64, 48)
    np.testing.assert_array_equal(item["labels"], (np.arange(12) % 3 == 1).astype(np.int64))
    assert item["audio"].shape == (48, 40)
    np.testing.assert_array_equal(item["timestamps_s"], track.timestamps_s)


def test_collate_pads_and_masks(store):
    dataset = TrackDataset(store, audio_feature="mfcc", modalities=("face", "audio"))
    lengths = store.lengths
    batch = collate([dataset[0], dataset[1]])
    longest = int(max(lengths[0], lengths[1]))
    assert batch["face"].shape == (2, longest, 1, 112, 112) and batch["face"].dtype == torch.float32
    assert batch["audio"].shape == (2, 4 * longest, 13)
    assert "body" not in batch
    assert batch["labels"].dtype == torch.int64 and batch["timestamps_s"].dtype == torch.float64
    short = int(np.argmin(lengths[:2]))
    n = int(lengths[short])
    assert batch["label_mask"][short].tolist() == [True] * n + [False] * (longest - n)
    assert float(batch["face"][short, n:].abs().sum()) == 0.0
    assert batch["entity_ids"] == store.entity_ids[:2] and len(batch["video_ids"]) == 2


def test_keys_and_fixed_clips(store):
    dataset = TrackDataset(store, clip_frames=4)
    assert len(dataset) == sum(max(n - 4, 0) // 4 + 1 for n in store.lengths.tolist())
    assert all(len(dataset[i]["labels"]) == min(4, int(store.lengths[dataset.clips[i][0]]))
               for i in range(len(dataset)))
    item = dataset[(2, 3, 5, 0)]
    whole = TrackDataset(store)[2]
    np.testing.assert_array_equal(item["face"], whole["face"][3:8])
    rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    expected = (rgb.astype(np.float32) / 255 - RGB_MEAN) / RGB_STD
    np.testing.assert_allclose(normalise_frames(rgb), expected.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(item["timestamps_s"], whole["timestamps_s"][3:8])


def test_augmentation_is_deterministic_per_key_and_epoch(store):
    dataset = TrackDataset(store, augment=True, seed=5)
    a, b = dataset[(2, 0, 12, 0)], dataset[(2, 0, 12, 0)]
    for name in ("face", "body", "audio"):
        np.testing.assert_array_equal(a[name], b[name])
    plain = TrackDataset(store)[2]
    changed = [not np.array_equal(dataset[(2, 0, 12, epoch)]["face"], plain["face"]) for epoch in range(8)]
    assert any(changed) and not all(changed)  # 'orig' is one of four choices


def test_augment_audio_false_keeps_the_audio_and_augments_the_video(store):
    video_only = TrackDataset(store, augment=True, seed=5, augment_audio=False)
    both = TrackDataset(store, augment=True, seed=5)
    plain = TrackDataset(store)[2]
    keys = [(2, 0, 12, epoch) for epoch in range(8)]
    for key in keys:  # same RNG stream for the video either way; the audio is never mixed
        np.testing.assert_array_equal(video_only[key]["face"], both[key]["face"])
        np.testing.assert_array_equal(video_only[key]["audio"], plain["audio"][:48])
    assert any(not np.array_equal(video_only[key]["face"], plain["face"]) for key in keys)
    assert any(not np.array_equal(both[key]["audio"], plain["audio"][:48]) for key in keys)


def test_shift_frames_by_hand():
    frames = np.arange(2 * 4 * 5, dtype=np.uint8).reshape(2, 4, 5)
    right_down = shift_frames(frames, 2, 1)
    np.testing.assert_array_equal(right_down[0], [[0, 0, 0, 1, 2], [0, 0, 0, 1, 2], [5, 5, 5, 6, 7],
                                                  [10, 10, 10, 11, 12]])
    np.testing.assert_array_equal(shift_frames(frames, -1, -2)[1, 0], frames[1, 2, [1, 2, 3, 4, 4]])
    np.testing.assert_array_equal(shift_frames(frames, 0, 0), frames)
    rgb = np.zeros((1, 4, 5, 3), np.uint8)
    assert shift_frames(rgb, 1, 1).shape == rgb.shape
    with pytest.raises(ValueError, match="not smaller"):
        shift_frames(frames, 5, 0)


def test_clip_shift_moves_every_frame_alike_and_leaves_audio(store):
    shifted, plain = TrackDataset(store, shift_px=3, seed=1), TrackDataset(store)
    key = (2, 0, 12, 0)
    a, b, ref = shifted[key], shifted[key], plain[key]
    np.testing.assert_array_equal(a["face"], b["face"])  # deterministic per key
    np.testing.assert_array_equal(a["audio"], ref["audio"])
    found = [(dx, dy) for dx in range(-3, 4) for dy in range(-3, 4)
             if np.array_equal(shift_frames(ref["face"], dx, dy), a["face"])]
    assert found  # one shift of the whole clip within the bound
    moved = [not np.array_equal(shifted[(2, 0, 12, e)]["face"], plain[(2, 0, 12, e)]["face"]) for e in range(6)]
    assert any(moved)
    with pytest.raises(ValueError, match="shift_px"):
        TrackDataset(store, shift_px=-1)


def test_video_augmentations():
    frames = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8)
    seen = set()
    for seed in range(40):
        out, kind = augment_frames(frames, np.random.default_rng(seed))
        seen.add(kind)
        assert out.shape == frames.shape and out.dtype == np.uint8
        if kind == "flip":
            np.testing.assert_array_equal(out, frames[:, :, ::-1])
        if kind == "orig":
            np.testing.assert_array_equal(out, frames)
    assert seen == {"orig", "flip", "crop", "rotate"}


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 4.5])
def test_mix_at_snr_reaches_the_asked_ratio(snr_db):
    rng = np.random.default_rng(1)
    clean = (rng.standard_normal(16000) * 3000).astype(np.int16)
    noise = (rng.standard_normal(5000) * 500).astype(np.int16)
    mixed = mix_at_snr(clean, noise, snr_db)
    added = mixed.astype(np.float64) - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(added ** 2))
    assert measured == pytest.approx(snr_db, abs=0.05)


def test_frame_budget_sampler_packs_sorted_tracks():
    lengths = [50, 300, 120, 120, 80, 2600, 40, 300, 90]
    sampler = FrameBudgetBatchSampler(lengths, frame_budget=400, seed=1)
    batches = list(sampler)
    tracks = sorted(key[0] for batch in batches for key in batch)
    assert tracks == list(range(len(lengths)))
    for batch in batches:
        cut = batch[0][2]
        assert all(key[2] == cut and key[1] == 0 for key in batch)
        assert cut == min(min(lengths[k[0]] for k in batch), 400)
        assert cut * len(batch) <= 400 or len(batch) == 1
    assert [len(b) for b in sampler._all_batches()] == [1, 1, 1, 3, 3]  # 2600|300|300|120 120 90|80 50 40
    assert list(FrameBudgetBatchSampler(lengths, 400, seed=1)) == batches
    sampler.set_epoch(1)
    assert list(sampler) != batches and all(k[3] == 1 for b in sampler for k in b)


def test_samplers_split_between_ranks():
    lengths = list(range(3, 40))
    for make in (lambda r: FrameBudgetBatchSampler(lengths, 60, seed=2, rank=r, world_size=3),
                 lambda r: ClipBatchSampler(lengths, 8, 4, seed=2, rank=r, world_size=3)):
        parts = [list(make(r)) for r in range(3)]
        assert len({len(p) for p in parts}) == 1 and len(parts[0]) == len(make(0))
        everything = make(0)._all_batches()
        got = [tuple(b) for p in parts for b in p]
        assert {tuple(b) for b in everything} == set(got)  # all batches, some repeated to even out


def test_clip_sampler_covers_tracks_with_offsets():
    lengths = [20, 5, 33]
    sampler = ClipBatchSampler(lengths, clip_frames=8, batch_size=3, seed=4)
    clips = sampler.clips()
    by_track = {t: sorted((s, n) for tt, s, n, _ in clips if tt == t) for t in range(3)}
    assert by_track[1] == [(0, 5)]
    assert len(by_track[0]) == 2 and by_track[0][1][0] - by_track[0][0][0] == 8 and by_track[0][0][0] <= 4
    assert len(by_track[2]) == 4 and by_track[2][-1][0] + 8 <= 33
    assert sorted(len(b) for b in sampler) == [1, 3, 3]
    assert sampler.clips() == ClipBatchSampler(lengths, 8, 3, seed=4).clips()


def test_dataloader_with_two_workers(store):
    dataset = TrackDataset(store, augment=True)
    loader = DataLoader(dataset, batch_sampler=FrameBudgetBatchSampler(store.lengths, 20), collate_fn=collate,
                        num_workers=2)
    frames = sum(int(batch["label_mask"].sum()) for batch in loader)
    assert frames == sum(b[0][2] * len(b) for b in FrameBudgetBatchSampler(store.lengths, 20))


def test_body_modality_needs_body_crops(tmp_path):
    root = open_store_for_writing(tmp_path / "s", {"dataset": "t", "split": None, "created_by": "t",
                                                  "settings": {"body_source": "none"}})
    with pytest.raises(ValueError, match="no body crops"):
        TrackDataset(root)
    assert len(TrackDataset(root, modalities=("face", "audio"))) == 0
