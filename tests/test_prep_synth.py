"""asd-prep ava / wasd on the synthetic corpus: row counts, crops vs an independent decode, audio alignment."""
from __future__ import annotations

import csv

import av
import numpy as np
import pytest
from click.testing import CliRunner

from asd_explain.cli.registry import register_commands
from asd_explain.data.store import TrackStore
from asd_explain.media.crops import BodyFromFace, crop_resize
from data_prep import commands
from data_prep.categories import Categories
from data_prep.cli import cli
from data_prep.commands import ava as ava_command
from data_prep.commands import wasd as wasd_command
from data_prep.prepare import prepare_store
from data_prep.settings import PrepSettings
from data_prep.synth import generate_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return generate_corpus(tmp_path_factory.mktemp("corpus"), preset="tiny", seed=3, workers=1, progress=False)


@pytest.fixture(scope="module")
def ava_store(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("ava") / "store"
    report = prepare_store("ava", corpus / "videos", corpus / "annotations" / "per_video", out, progress=False)
    return out, report


@pytest.fixture(scope="module")
def wasd_store(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("wasd") / "store"
    report = prepare_store("wasd", corpus / "videos", corpus / "annotations", out, split="train",
                           settings=PrepSettings(body_source="csv", body_colour="rgb", body_size=(96, 64),
                                                 resize="area"),
                           body_annotations=corpus / "annotations",
                           categories=Categories.load(corpus / "metadata.csv"), progress=False)
    return out, report


def csv_rows(path, header):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[1:] if header else rows


def store_rows(store: TrackStore, body=False):
    keys = {}
    for entity in store.entity_ids:
        track = store.read(entity, modalities=())
        boxes = track.body_boxes if body else track.face_boxes
        for t in range(track.n_frames):
            key = (track.video_id, float(track.timestamps_s[t]), entity)
            assert key not in keys
            keys[key] = (int(track.labels[t]), tuple(boxes[t]))
    return keys


def expected_rows(rows):
    label_ids = {"NOT_SPEAKING": 0, "SPEAKING_AUDIBLE": 1, "SPEAKING_NOT_AUDIBLE": 2}
    return {(r[0], float(r[1]), r[7]): (label_ids[r[6]], tuple(float(v) for v in r[2:6])) for r in rows}


def test_ava_every_row_is_exactly_one_stored_frame(corpus, ava_store):
    out, report = ava_store
    rows = [r for p in sorted((corpus / "annotations" / "per_video").glob("*.csv")) for r in csv_rows(p, False)]
    store = TrackStore(out)
    assert report.rows_in == len(rows) == report.rows_stored == store.n_frames
    assert report.rows_skipped == 0
    assert store_rows(store) == expected_rows(rows)
    assert store.manifest["dataset"] == "ava"
    assert store.manifest["settings"]["body_source"] == "derived"
    assert store.manifest["settings"]["body_from_face"] == {"width_faces": 3.0, "height_faces": 6.0,
                                                            "above_faces": 0.25}
    track = store.read(store.entity_ids[0])
    np.testing.assert_allclose(track.body_boxes, BodyFromFace().boxes(track.face_boxes))
    assert track.face.shape[1:] == (112, 112) and track.body.shape[1:] == (112, 112)


def test_wasd_rows_bodies_and_categories(corpus, wasd_store):
    out, report = wasd_store
    faces = csv_rows(corpus / "annotations" / "train_orig.csv", True)
    bodies = csv_rows(corpus / "annotations" / "train_orig_body.csv", True)
    store = TrackStore(out)
    assert report.rows_in == len(faces) == store.n_frames and report.rows_skipped == 0
    assert store_rows(store) == expected_rows(faces)
    assert store_rows(store, body=True) == expected_rows(bodies)
    assert store.manifest["settings"]["body_source"] == "csv"
    categories = {r["video_id"]: r["category"] for r in csv.DictReader(open(corpus / "metadata.csv"))}
    for entity in store.entity_ids:
        track = store.read(entity, modalities=("body",))
        assert track.category == categories[track.video_id]
        assert track.body.shape[1:] == (96, 64, 3)


def decode_independently(video_path):
    """All frames (RGB) and their times with decord (the store was made with PyAV), all audio with PyAV."""
    import decord

    reader = decord.VideoReader(str(video_path))
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    times = reader.get_frame_timestamp(list(range(len(reader))))[:, 0]
    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base)
        pieces, t0 = [], None
        for frame in container.decode(audio=0):
            t0 = frame.time - start if t0 is None else t0
            pieces.append(frame.to_ndarray().reshape(-1))
    return frames, np.asarray(times), np.concatenate(pieces), t0


@pytest.mark.parametrize("which", ["ava", "wasd"])
def test_crops_equal_crops_of_independently_decoded_frames(corpus, ava_store, wasd_store, which):
    store = TrackStore((ava_store if which == "ava" else wasd_store)[0])
    rng = np.random.default_rng(0)
    worst = 0
    for entity in store.entity_ids:
        track = store.read(entity)
        frames, times, _, _ = decode_independently(corpus / "videos" / f"{track.video_id}.mp4")
        for t in rng.choice(track.n_frames, size=6, replace=False):
            frame = frames[int(np.argmin(np.abs(times - track.timestamps_s[t])))]
            resize = "linear" if which == "ava" else "area"
            face = crop_resize(frame, track.face_boxes[t], (112, 112), "gray", resize)
            worst = max(worst, int(np.abs(face.astype(int) - track.face[t]).max()))
            colour = "gray" if which == "ava" else "rgb"
            body = crop_resize(frame, track.body_boxes[t], track.body.shape[1:3], colour, resize)
            worst = max(worst, int(np.abs(body.astype(int) - track.body[t]).max()))
    assert worst <= 2


def test_audio_slices_align_with_timestamps_within_1ms(corpus, ava_store):
    store = TrackStore(ava_store[0])
    for entity in store.entity_ids:
        track = store.read(entity, modalities=("audio",))
        _, _, audio, t0 = decode_independently(corpus / "videos" / f"{track.video_id}.mp4")
        start = int(round((track.timestamps_s[0] - 0.5 / track.fps - t0) * 16000))
        assert len(track.audio) == int(round((track.timestamps_s[-1] - track.timestamps_s[0] + 1 / track.fps)
                                             * 16000))
        pad = 16000
        reference = np.pad(audio, pad)[start + pad:start + pad + len(track.audio)] * 32767
        lags = range(-48, 49)
        ours = track.audio.astype(np.float64)
        scores = [np.dot(ours[48:-48], np.roll(reference, -lag)[48:-48]) for lag in lags]
        best = list(lags)[int(np.argmax(scores))]
        assert abs(best) <= 16, f"{entity}: audio off by {best} samples"
        assert np.abs(ours - np.round(reference)).max() <= 1.0


def test_cli_commands_prepare_and_resume(corpus, tmp_path):
    register_commands(cli, commands)
    runner = CliRunner()
    out = tmp_path / "store"
    args = ["--videos", str(corpus / "videos"), "--annotations", str(corpus / "annotations"), "--split", "train",
            "--out", str(out), "--quiet", "--face-size", "64"]
    result = runner.invoke(cli, ["wasd", *args, "--metadata", str(corpus / "metadata.csv")])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "0 skipped" in result.output
    first = {e: TrackStore(out).content_hash(e) for e in TrackStore(out).entity_ids}
    result = runner.invoke(cli, ["wasd", *args, "--metadata", str(corpus / "metadata.csv")])
    assert result.exit_code == 0 and {e: TrackStore(out).content_hash(e) for e in first} == first
    result = runner.invoke(cli, ["ava", *args])  # another dataset into the same store
    assert result.exit_code != 0 and "dataset" in result.output
    assert ava_command.command.name == "ava" and wasd_command.command.name == "wasd"


def test_shards_together_equal_one_run(corpus, ava_store, tmp_path):
    out = tmp_path / "sharded"
    reports = [prepare_store("ava", corpus / "videos", corpus / "annotations" / "per_video", out, shard=(i, 2),
                             progress=False) for i in range(2)]
    assert sum(r.rows_in for r in reports) == ava_store[1].rows_in
    full, sharded = TrackStore(ava_store[0]), TrackStore(out)
    assert {e: sharded.content_hash(e) for e in sharded.entity_ids} == \
        {e: full.content_hash(e) for e in full.entity_ids}
