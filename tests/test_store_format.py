"""Track store format: round trip, partial reads, hashes, manifest checks, atomicity and adoption."""
from __future__ import annotations

import os

import numpy as np
import pytest

from asd_explain.data.store import StoreError, Track, TrackStore, audio_span_samples
from asd_explain.data.store_writer import VideoWriter, open_store_for_writing, track_file_name, track_record
from asd_explain.data.track_file import TrackFile, TrackFileError

MANIFEST = {"dataset": "test", "split": "train", "created_by": "pytest",
            "settings": {"face_size": [16, 16], "face_colour": "gray", "body_size": [24, 12], "body_colour": "rgb",
                         "body_source": "derived", "sample_rate_hz": 16000}}


def make_track(entity_id="vid_0_1:1", video_id="vid", n_frames=7, fps=25.0, seed=0, body=True) -> Track:
    rng = np.random.default_rng(seed)
    ts = 10.0 + np.arange(n_frames) / fps
    n_audio = int(round((ts[-1] - ts[0] + 1 / fps) * 16000))
    return Track(
        entity_id=entity_id, video_id=video_id, fps=fps, timestamps_s=ts,
        labels=rng.integers(0, 3, n_frames).astype(np.int8),
        face=rng.integers(0, 256, (n_frames, 16, 16), dtype=np.uint8),
        body=rng.integers(0, 256, (n_frames, 24, 12, 3), dtype=np.uint8) if body else None,
        face_boxes=np.tile([0.1, 0.2, 0.3, 0.4], (n_frames, 1)),
        body_boxes=np.tile([0.0, 0.1, 0.5, 1.0], (n_frames, 1)) if body else None,
        audio=rng.integers(-3000, 3000, n_audio).astype(np.int16), category="OC",
    )


def write(root, track, codec="png"):
    with VideoWriter(root, track.video_id) as writer:
        return writer.write_track(*track_record(track, codec=codec))


@pytest.fixture
def store_root(tmp_path):
    return open_store_for_writing(tmp_path / "store", MANIFEST)


@pytest.mark.parametrize("codec", ["zstd", "png", "raw"])
def test_round_trip_is_exact(store_root, codec):
    track = make_track()
    write(store_root, track, codec)
    store = TrackStore(store_root)
    assert len(store) == 1 and store.entity_ids == [track.entity_id]
    assert store.manifest["format_version"] == 1 and store.manifest["settings"]["sample_rate_hz"] == 16000
    got = store.read(track.entity_id)
    for name in ("timestamps_s", "labels", "face", "body", "face_boxes", "body_boxes", "audio"):
        np.testing.assert_array_equal(getattr(got, name), getattr(track, name), err_msg=name)
    assert got.labels.dtype == np.int8 and got.audio.dtype == np.int16
    assert (got.fps, got.category, got.video_id) == (25.0, "OC", "vid")
    assert store.lengths.tolist() == [7]


def test_partial_reads_equal_slices_and_keep_audio_alignment(store_root):
    track = make_track(n_frames=20)
    write(store_root, track)
    store = TrackStore(store_root)
    part = store.read(track.entity_id, 5, 12, modalities=("face", "audio"))
    np.testing.assert_array_equal(part.face, track.face[5:12])
    assert part.body is None
    first, last = audio_span_samples(track.timestamps_s, 25.0, 5, 12)
    assert (first, last) == (3200, 3200 + 4480)  # 5 frames * 640 samples, 7 frames long
    np.testing.assert_array_equal(part.audio, track.audio[first:last])
    assert part.audio_start_s == pytest.approx(track.timestamps_s[5] - 0.02)


def test_content_hash_is_deterministic_and_verified(store_root, tmp_path):
    digest = write(store_root, make_track())
    other = open_store_for_writing(tmp_path / "other", MANIFEST)
    assert write(other, make_track()) == digest
    assert write(other, make_track(entity_id="x:2", seed=1)) != digest
    path = TrackStore(store_root).track_path("vid_0_1:1")
    with TrackFile(path) as f:
        assert f.verify()
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with TrackFile(path) as f:
        assert not f.verify()


def test_truncated_or_foreign_file_is_rejected(tmp_path):
    (tmp_path / "a.trk").write_bytes(b"ASDTRACK\x01\x00\x00\x00\xff\x00\x00\x00{")
    with pytest.raises(TrackFileError, match="truncated"):
        TrackFile(tmp_path / "a.trk")
    (tmp_path / "b.trk").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(TrackFileError, match="magic"):
        TrackFile(tmp_path / "b.trk")


def test_manifest_must_match_settings(store_root):
    open_store_for_writing(store_root, MANIFEST)  # same settings: fine
    changed = dict(MANIFEST, settings=dict(MANIFEST["settings"], face_size=[32, 32]))
    with pytest.raises(StoreError, match="face_size"):
        open_store_for_writing(store_root, changed)


def test_finished_track_is_never_written_twice(store_root):
    track = make_track()
    write(store_root, track)
    with VideoWriter(store_root, "vid") as writer, pytest.raises(StoreError, match="already finished"):
        writer.write_track(*track_record(track))


def test_file_without_index_entry_is_adopted_not_rewritten(store_root):
    """A run killed between os.replace of the track and the index update: the next run adopts the file."""
    track = make_track()
    write(store_root, track)
    index = store_root / "index" / "vid.json"
    index.unlink()  # as if the index update never happened
    assert len(TrackStore(store_root)) == 0  # readers see only indexed tracks
    path = store_root / "tracks" / "vid" / track_file_name(track.entity_id)
    before = os.stat(path)
    with VideoWriter(store_root, "vid") as writer:
        assert writer.adopt_finished([track.entity_id]) == [track.entity_id]
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert TrackStore(store_root).entity_ids == [track.entity_id]


def test_corrupt_unindexed_file_and_temp_files_are_removed(store_root):
    folder = store_root / "tracks" / "vid"
    folder.mkdir(parents=True)
    bad = folder / track_file_name("vid:9")
    bad.write_bytes(b"ASDTRACK garbage")
    stale = folder / f".{bad.name}.tmp.12345"
    stale.write_bytes(b"half a track")
    with VideoWriter(store_root, "vid") as writer:
        assert writer.adopt_finished(["vid:9"]) == []
    assert not bad.exists() and not stale.exists()


def test_one_process_per_video(store_root):
    with VideoWriter(store_root, "vid"):
        with pytest.raises(StoreError, match="another process"):
            VideoWriter(store_root, "vid", lock_timeout_s=0.2)


def test_entity_in_two_videos_is_an_error_for_readers(store_root):
    write(store_root, make_track(video_id="a", entity_id="same"))
    write(store_root, make_track(video_id="b", entity_id="same"))
    with pytest.raises(StoreError, match="also in video"):
        TrackStore(store_root)


def test_track_file_names_are_safe_and_distinct():
    names = {track_file_name(e) for e in ("a:1", "a_1", "../x", "a/1")}
    assert len(names) == 4
    assert all("/" not in n and ":" not in n and not n.startswith(".") for n in names)
