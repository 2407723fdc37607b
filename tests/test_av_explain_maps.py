"""SE explanations of the AV model per track: maps, spectrogram attention, modality shares, batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _av_tiny import small_model, tiny_corpus_and_store

from asd_explain.data.dataset import TrackDataset, collate
from asd_explain.data.store import TrackStore
from asd_explain.explain.av import (
    TrackExplanation,
    explain_av_batch,
    explain_track_arrays,
    join_explanations,
    track_batch,
)
from asd_explain.explain.map_ops import local_std, valid_steps
from asd_explain.explain.map_settings import MapSettings
from asd_explain.explain.references import MAP_REFERENCES, BlockMaps
from asd_explain.explain.se_maps import se_heatmaps, select_channels
from asd_explain.models.heads import speaking_probability

B, T, SIZE = 2, 6, 48


def _local_std(scaled, lengths, time_dim, window_frames, frames):
    """The motion reference's statistic with its window in video frames (as ``references.motion`` calls it)."""
    half = round((window_frames // 2) * scaled.shape[time_dim] / frames)
    return local_std(scaled, valid_steps(scaled, lengths, time_dim, frames), time_dim, half)


def _speaking_map(scaled, excitation, scores, lengths, time_dim):
    """The registered "speaking" reference on one block's output."""
    return MAP_REFERENCES["speaking"](BlockMaps(scaled, excitation, scores, lengths, time_dim), MapSettings())


def random_batch(seed: int = 0, body: bool = True) -> dict:
    g = torch.Generator().manual_seed(seed)
    batch = {"face": torch.randn(B, T, 1, SIZE, SIZE, generator=g), "audio": torch.randn(B, 4 * T, 40, generator=g),
             "label_mask": torch.tensor([[True] * T, [True] * (T - 2) + [False] * 2]),
             "entity_ids": ["a", "b"], "timestamps_s": torch.arange(T).repeat(B, 1) * 0.04,
             "labels": torch.tensor([[0, 1, 1, 0, 0, 1], [1, 1, 0, 0, 0, 0]])}
    if body:
        batch["body"] = torch.randn(B, T, 1, SIZE, SIZE, generator=g)
    return batch


def test_batch_explanations_match_the_model_and_the_se_maths():
    model, batch = small_model(), random_batch()
    explanations = explain_av_batch(model, batch)
    assert [e.n_frames for e in explanations] == [T, T - 2]  # padding cut at label_mask
    with torch.no_grad():
        out = model.explain_forward(batch)
        logits = model(face=batch["face"], body=batch["body"], audio=batch["audio"])["logits"]
    expected_scores = speaking_probability(logits)
    for b, e in enumerate(explanations):
        np.testing.assert_allclose(e.scores, expected_scores[b, :e.n_frames].numpy(), atol=1e-6)
        assert e.face_maps.shape == (e.n_frames, SIZE, SIZE) and e.body_maps.shape == (e.n_frames, SIZE, SIZE)
        assert e.audio_attention.shape == (40, 4 * e.n_frames) and e.audio_features.shape == (40, 4 * e.n_frames)
        np.testing.assert_array_equal(e.audio_features, batch["audio"][b, :4 * e.n_frames].numpy().T)
        for maps in (e.face_maps, e.body_maps):  # per-frame min-max
            np.testing.assert_allclose(maps.reshape(e.n_frames, -1).max(1), 1.0, atol=1e-6)
            np.testing.assert_allclose(maps.reshape(e.n_frames, -1).min(1), 0.0, atol=1e-6)
        assert e.audio_attention.max() == pytest.approx(1.0) and e.audio_attention.min() == pytest.approx(0.0)
        total = sum(e.modality_shares[m] for m in ("audio", "face", "body"))
        np.testing.assert_allclose(total, 1.0, atol=1e-5)
        assert e.track_shares["face"] == pytest.approx(float(e.modality_shares["face"].mean()))
        assert e.kept["face"].kept.shape == (e.n_frames,) and e.kept["fusion"].channels == 3 * 32
    # Frame 3 of item 0 by hand: mean of the kept channels of the SE-scaled map, bicubic, min-max.
    face = out["se"]["face"]
    kept, _ = select_channels(face["excitation"])
    channels = kept[0, :, 3]
    by_hand = face["scaled"][0, channels, 3].mean(0)
    by_hand = F.interpolate(by_hand[None, None], size=(SIZE, SIZE), mode="bicubic", align_corners=False)[0, 0]
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())
    np.testing.assert_allclose(explanations[0].face_maps[3], by_hand.numpy(), atol=1e-5)
    assert explanations[0].kept["face"].kept[3] == int(channels.sum())


def test_clip_mean_reference_maps_by_hand():
    model, batch = small_model(), random_batch(2)
    explanations = explain_av_batch(model, batch, MapSettings(reference="clip-mean"))
    out = model.explain_forward(batch)
    n = T - 2  # item 1 is padded: its mean runs over its own 4 frames only
    face = out["se"]["face"]
    scaled = face["scaled"][1, :, :n]  # (C, n, h, w)
    deviation = (scaled - scaled.mean(dim=1, keepdim=True)).abs()
    channels = select_channels(face["excitation"])[0][1, :, 2]
    by_hand = deviation[channels, 2].mean(0)
    by_hand = F.interpolate(by_hand[None, None], size=(SIZE, SIZE), mode="bicubic", align_corners=False)[0, 0]
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())
    np.testing.assert_allclose(explanations[1].face_maps[2], by_hand.numpy(), atol=1e-5)
    audio = out["se"]["audio"]["scaled"][0]  # (C, F', T): item 0 uses all T frames
    deviation = (audio - audio.mean(dim=2, keepdim=True)).abs()
    kept = select_channels(out["se"]["audio"]["excitation"])[0][0]
    by_hand = F.interpolate(deviation[kept].mean(0)[None, None], size=(40, 4 * T), mode="bicubic",
                            align_corners=False)[0, 0]
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())
    np.testing.assert_allclose(explanations[0].audio_attention, by_hand.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="reference must be one of"):
        explain_av_batch(model, batch, MapSettings(reference="median"))


def test_speaking_map_by_hand():
    # Two channels on a (F'=2, T=4) map: channel 0 rises with the speaking score in band 0, channel 1 falls.
    scores = torch.tensor([[0.1, 0.9, 0.1, 0.9]])
    rising = torch.tensor([0.0, 2.0, 0.0, 2.0])
    scaled = torch.zeros(1, 2, 2, 4)
    scaled[0, 0, 0] = rising
    scaled[0, 1, 1] = 2.0 - rising
    excitation = torch.tensor([[0.5, 0.9]])
    maps = _speaking_map(scaled, excitation, scores, [4], time_dim=3)
    # r = +1 for channel 0, -1 for channel 1 -> only channel 0, weight 0.5; its rise above its mean 1.0
    expected = torch.zeros(2, 4)
    expected[0] = (rising - 1.0).clamp_min(0)
    torch.testing.assert_close(maps[0], expected)
    # the padded tail does not count: frames 2-3 are padding, so channel 0 over frames 0-1 is still r = +1
    padded = _speaking_map(scaled, excitation, scores, [2], time_dim=3)
    torch.testing.assert_close(padded[0, 0, :2], torch.tensor([0.0, 1.0]))
    # a score that does not vary leaves nothing to follow: a zero map
    flat = _speaking_map(scaled, excitation, torch.full((1, 4), 0.7), [4], time_dim=3)
    assert torch.count_nonzero(flat) == 0


def test_local_std_by_hand():
    # one channel, two positions over T = 6 frames: position 0 still, position 1 flips 0 / 2 every frame
    scaled = torch.zeros(1, 1, 6, 1, 2)
    scaled[0, 0, :, 0, 0] = 3.0
    scaled[0, 0, :, 0, 1] = torch.tensor([0.0, 2.0, 0.0, 2.0, 0.0, 2.0])
    out = _local_std(scaled, [6], time_dim=2, window_frames=3, frames=6)
    assert out.shape == scaled.shape
    torch.testing.assert_close(out[0, 0, :, 0, 0], torch.zeros(6))  # a still position gives nothing
    inner = float(np.std([0.0, 2.0, 0.0]))  # windows of 3 inside the clip: values {0, 2, 0} or {2, 0, 2}
    torch.testing.assert_close(out[0, 0, 1:5, 0, 1], torch.full((4,), inner))
    torch.testing.assert_close(out[0, 0, [0, 5], 0, 1], torch.ones(2))  # cut windows at the ends: {0, 2}
    # the item's length cuts the window and padding steps get 0
    padded = _local_std(scaled, [3], time_dim=2, window_frames=3, frames=6)
    torch.testing.assert_close(padded[0, 0, :3, 0, 1], torch.tensor([1.0, inner, 1.0]))
    assert torch.count_nonzero(padded[0, 0, 3:]) == 0
    # an audio map with 4 steps per frame: a 3-frame window spans 9 steps
    audio = torch.zeros(1, 1, 1, 24)
    audio[0, 0, 0, 12] = 9.0  # one step stands out
    spread = _local_std(audio, [6], time_dim=3, window_frames=3, frames=6)[0, 0, 0]
    assert torch.count_nonzero(spread).item() == 9 and spread[8:17].min() > 0


def test_motion_reference_is_the_windowed_std_of_the_kept_channels():
    model, batch = small_model(), random_batch(4)
    got = explain_av_batch(model, batch, MapSettings(reference="motion", motion_window=3, top_percent=50,
                                                     interpolation="bilinear", normalize="track"))
    face = model.explain_forward(batch)["se"]["face"]
    spread = _local_std(face["scaled"], [T, T - 2], time_dim=2, window_frames=3, frames=T)
    small = se_heatmaps(spread, face["excitation"], None, top_percent=50, interpolation="bilinear",
                        normalize="none").maps.float()[1, :T - 2]
    by_hand = F.interpolate(small[:, None], size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0]
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())
    np.testing.assert_allclose(got[1].face_maps, by_hand.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="motion_window"):
        explain_av_batch(model, batch, MapSettings(reference="motion", motion_window=4))


def test_body_reference_changes_the_body_maps_only():
    model, batch = small_model(), random_batch(5)
    face_motion = explain_av_batch(model, batch, MapSettings(reference="motion", motion_window=3))
    clip_mean = explain_av_batch(model, batch, MapSettings(reference="clip-mean"))
    mixed = explain_av_batch(model, batch, MapSettings(reference="motion", body_reference="clip-mean",
                                                       motion_window=3))
    for b in range(B):
        np.testing.assert_array_equal(mixed[b].face_maps, face_motion[b].face_maps)
        np.testing.assert_array_equal(mixed[b].body_maps, clip_mean[b].body_maps)
        np.testing.assert_array_equal(mixed[b].audio_attention, face_motion[b].audio_attention)
    assert not np.array_equal(face_motion[0].body_maps, clip_mean[0].body_maps)
    with pytest.raises(ValueError, match="reference must be one of"):
        explain_av_batch(model, batch, MapSettings(body_reference="median"))


def test_cli_references_are_the_registered_ones():
    from asd_explain.cli.options import REFERENCES as CLI
    assert tuple(CLI) == tuple(MAP_REFERENCES) == ("zero", "clip-mean", "speaking", "motion")


def test_speaking_reference_for_the_audio_only():
    model, batch = small_model(), random_batch(3)
    plain = explain_av_batch(model, batch, MapSettings(reference="clip-mean"))
    mixed = explain_av_batch(model, batch, MapSettings(reference="clip-mean", audio_reference="speaking"))
    out = model.explain_forward(batch)
    for b in range(B):
        np.testing.assert_array_equal(mixed[b].face_maps, plain[b].face_maps)  # visual maps unchanged
        assert mixed[b].audio_attention.shape == plain[b].audio_attention.shape
    audio = out["se"]["audio"]
    small = _speaking_map(audio["scaled"], audio["excitation"], out["scores"], [T, T - 2], time_dim=3)[0]
    by_hand = F.interpolate(small[None, None], size=(40, 4 * T), mode="bicubic", align_corners=False)[0, 0]
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min()).clamp_min(1e-12)
    np.testing.assert_allclose(mixed[0].audio_attention, by_hand.clamp(0, 1).numpy(), atol=1e-5)
    everything = explain_av_batch(model, batch, MapSettings(reference="speaking"))
    assert everything[0].face_maps.shape == plain[0].face_maps.shape
    with pytest.raises(ValueError, match="reference must be one of"):
        explain_av_batch(model, batch, MapSettings(audio_reference="median"))


def test_models_without_body_fusion_se_or_any_se():
    no_body = explain_av_batch(small_model(modalities=("audio", "face"), fusion_se=False), random_batch(body=False))
    assert no_body[0].body_maps is None and no_body[0].modality_shares == {} and no_body[0].face_maps is not None
    assert set(no_body[0].kept) == {"audio", "face"}
    plain = explain_av_batch(small_model(se=False), random_batch())
    assert plain[0].face_maps is None and plain[0].audio_attention is None and plain[0].kept == {}
    assert plain[0].scores.shape == (T,)
    face_only = explain_av_batch(small_model(modalities=("face",)), random_batch())
    assert face_only[1].audio_attention is None and set(face_only[1].modality_shares) == {"face"}
    np.testing.assert_allclose(face_only[1].modality_shares["face"], 1.0)


def test_joined_pieces_share_one_attention_scale():
    def piece(attention, lo, hi):
        n = attention.shape[1] // 4
        return TrackExplanation(scores=np.zeros(n, np.float32), audio_attention=attention,
                                audio_features=np.zeros_like(attention), audio_attention_range=(lo, hi),
                                modality_shares={"face": np.full(n, 0.5, np.float32)})

    ramp = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (2, 1))  # (F=2, 4T=8)
    joined = join_explanations([piece(ramp, 0.0, 2.0), piece(ramp, 0.0, 4.0)])
    np.testing.assert_allclose(joined.audio_attention[:, :8], ramp * 0.5, atol=1e-6)  # raw 0..2 of 0..4
    np.testing.assert_allclose(joined.audio_attention[:, 8:], ramp, atol=1e-6)
    assert joined.audio_attention_range == (0.0, 4.0) and joined.n_frames == 4


def test_track_batch_is_the_store_loaders_batch(tmp_path_factory):
    _, store_path = tiny_corpus_and_store(tmp_path_factory)
    store = TrackStore(store_path)
    model = small_model()
    entity = store.entity_ids[0]
    track = store.read(entity)
    mine = track_batch(model, face=track.face, body=track.body, audio=track.audio, timestamps_s=track.timestamps_s,
                       fps=track.fps, entity_id=entity)
    loader = collate([TrackDataset(store, modalities=("face", "body", "audio"))[store.index_of(entity)]])
    for name in ("face", "body", "audio", "timestamps_s"):
        torch.testing.assert_close(mine[name], loader[name], rtol=0, atol=0)
    with pytest.raises(ValueError, match="needs body crops for all"):
        track_batch(model, face=track.face, audio=track.audio, timestamps_s=track.timestamps_s, fps=track.fps)


def test_whole_track_in_chunks_and_blanking(tmp_path_factory):
    _, store_path = tiny_corpus_and_store(tmp_path_factory)
    track = TrackStore(store_path).read(TrackStore(store_path).entity_ids[0])
    model = small_model()
    arrays = dict(face=track.face, body=track.body, audio=track.audio, timestamps_s=track.timestamps_s,
                  fps=track.fps, entity_id=track.entity_id, labels=(track.labels == 1).astype(np.int64))
    whole = explain_track_arrays(model, chunk_frames=512, **arrays)
    chunked = explain_track_arrays(model, chunk_frames=20, **arrays)
    n = track.n_frames
    assert whole.n_frames == chunked.n_frames == n and chunked.face_maps.shape == (n, 112, 112)
    assert chunked.audio_attention.shape == (40, 4 * n) and chunked.audio_attention.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(chunked.labels, arrays["labels"])
    np.testing.assert_array_equal(chunked.audio_features, whole.audio_features)  # made once for the track
    # the first chunk is the first 20 frames of the track's batch, explained on their own
    batch = track_batch(model, **arrays)
    head = explain_av_batch(model, {k: v[:, :20] if k in ("face", "body", "label_mask") else v for k, v in
                                    {**batch, "audio": batch["audio"][:, :80]}.items()})[0]
    np.testing.assert_allclose(chunked.scores[:20], head.scores, atol=1e-6)
    np.testing.assert_allclose(chunked.face_maps[:20], head.face_maps, atol=1e-6)
    blank = explain_track_arrays(model, chunk_frames=512, blank=("face",), **arrays)
    zero_face = track_batch(model, face=np.full_like(track.face, 0), body=track.body, audio=track.audio,
                            timestamps_s=track.timestamps_s, fps=track.fps)
    zero_face["face"] = torch.zeros_like(zero_face["face"])
    np.testing.assert_allclose(blank.scores, explain_av_batch(model, zero_face)[0].scores, atol=1e-6)
    assert not np.array_equal(blank.modality_shares["face"], whole.modality_shares["face"])
    with pytest.raises(ValueError, match="cannot blank 'mouth'"):
        explain_track_arrays(model, blank=("mouth",), **arrays)


def test_many_tracks_on_threads_equal_one_call_per_track(tmp_path_factory):
    """explain_tracks on 2 threads (one model and explainer, chunks longest first) gives exactly what
    explain_track_arrays gives track by track, and restores torch's thread count."""
    from asd_explain.explain.av import explain_tracks

    _, store_path = tiny_corpus_and_store(tmp_path_factory)
    store = TrackStore(store_path)
    model = small_model()
    tracks = []
    for entity in store.entity_ids[:3]:
        t = store.read(entity)
        tracks.append(dict(face=t.face, body=t.body, audio=t.audio, timestamps_s=t.timestamps_s, fps=t.fps,
                           entity_id=t.entity_id))
    threads_before = torch.get_num_threads()
    threaded = explain_tracks(model, tracks, workers=2, chunk_frames=16)
    assert torch.get_num_threads() == threads_before
    for arrays, got in zip(tracks, threaded):
        one = explain_track_arrays(model, chunk_frames=16, **arrays)
        assert got.entity_id == arrays["entity_id"] and got.n_frames == len(arrays["timestamps_s"])
        np.testing.assert_allclose(got.scores, one.scores, atol=1e-6)
        np.testing.assert_allclose(got.face_maps, one.face_maps, atol=1e-5)
        np.testing.assert_allclose(got.audio_attention, one.audio_attention, atol=1e-5)
        for name in one.modality_shares:
            np.testing.assert_allclose(got.modality_shares[name], one.modality_shares[name], atol=1e-6)


def test_scaled_items_per_frame_equals_each_frame_scaled_alone_and_zeroes_padding():
    from asd_explain.explain.av_se import _scaled_items, unit_range

    torch.manual_seed(1)
    raw = torch.randn(3, 5, 6, 4) * 3 + 1
    raw[0, 1] = 2.0  # a flat frame: all 0, not NaN
    lengths = [5, 3, 1]
    want = torch.zeros_like(raw)
    for b, n in enumerate(lengths):
        for t in range(n):
            want[b, t] = unit_range(raw[b, t][None], per_frame=True)[0]
    got = _scaled_items(raw.clone(), lengths, per_frame=True)
    assert torch.allclose(got, want, atol=1e-6)
    assert got[1, 3:].abs().max() == 0 and got[2, 1:].abs().max() == 0
    assert float(got[0, 0].min()) == 0.0 and float(got[0, 0].max()) == 1.0 and got[0, 1].abs().max() == 0
    track = _scaled_items(raw.clone(), lengths, per_frame=False)  # whole item: one min-max over its frames
    assert float(track[1, :3].min()) == 0.0 and float(track[1, :3].max()) == 1.0 and track[1, 3:].abs().max() == 0
