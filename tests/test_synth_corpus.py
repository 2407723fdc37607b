"""The synthetic corpus is written exactly like AVA-ActiveSpeaker / WASD, and its files agree."""
from __future__ import annotations

import csv
import json
import re
from fractions import Fraction

import av
import decord
import numpy as np
import pandas as pd
import pytest

from data_prep.synth import generate_corpus, load_evidence
from data_prep.synth.config import LABELS
from data_prep.synth.media import probe_codecs

HEADER = ["video_id", "frame_timestamp", "entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2",
          "label", "entity_id", "label_id", "instance_id"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "tiny"
    # four videos so that all four default frame rates (29.97, 25, 24, 30) appear
    return generate_corpus(out, preset="tiny", videos=4, seed=3, categories="OC,SS,HVN,FO", workers=2,
                           progress=False)


@pytest.fixture(scope="module")
def tables(corpus):
    meta = pd.read_csv(corpus / "metadata.csv")
    face = pd.read_csv(corpus / "annotations" / "train_orig.csv")
    body = pd.read_csv(corpus / "annotations" / "train_orig_body.csv")
    return meta, face, body


def test_layout_and_description(corpus, tables):
    meta, _, _ = tables
    description = json.loads((corpus / "corpus.json").read_text())
    assert description["seed"] == 3 and description["split"] == "train" and description["complete"]
    assert description["sample_rate_hz"] == 16000
    ids = description["video_ids"]
    assert ids == list(meta["video_id"]) and len(ids) == 4
    assert list(meta["category"]) == ["OC", "SS", "HVN", "FO"]
    assert sorted(meta["fps"].round(2)) == [24.0, 25.0, 29.97, 30.0]
    for vid in ids:
        for path in (f"videos/{vid}.mp4", f"evidence/{vid}.npz", f"annotations/per_video/{vid}-activespeaker.csv"):
            assert (corpus / path).is_file(), path
    ss = meta.set_index("category").loc["SS"]
    assert ss["low_res"] == 1 and ss["low_res_factor"] >= 2
    assert not list(corpus.rglob("*.tmp*")), "temporary files left behind"


def test_codecs_streams_and_decord(corpus, tables):
    meta, _, _ = tables
    for row in meta.itertuples():
        path = corpus / "videos" / f"{row.video_id}.mp4"
        assert probe_codecs(path) == {"video": "h264", "audio": "aac"}
        with av.open(str(path)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert video.codec_context.pix_fmt == "yuv420p"
            assert video.average_rate == Fraction(row.fps_num, row.fps_den)
            assert audio.codec_context.sample_rate == 16000 and audio.codec_context.layout.name == "mono"
        reader = decord.VideoReader(str(path))
        assert len(reader) == row.n_frames
        assert reader[0].shape == (row.height, row.width, 3)
        assert abs(reader.get_avg_fps() - row.fps_num / row.fps_den) < 1e-6
        sound = decord.AudioReader(str(path), sample_rate=16000, mono=True)[:].asnumpy()
        assert sound.shape[0] == 1 and abs(sound.shape[1] / 16000 - row.n_frames / row.fps) < 0.1
        assert np.abs(sound).max() > 0.1  # not silent


def test_per_video_csv_is_official_variant(corpus, tables):
    meta, face, _ = tables
    with open(corpus / "annotations" / "train_orig.csv", newline="") as fh:
        merged = list(csv.reader(fh))
    assert merged[0] == HEADER and all(len(r) == 10 for r in merged)
    pattern = re.compile(r"^(.+)_(\d+)_(\d+):(\d+)$")
    for vid in meta["video_id"]:
        with open(corpus / "annotations" / "per_video" / f"{vid}-activespeaker.csv", newline="") as fh:
            rows = list(csv.reader(fh))
        assert all(len(r) == 8 for r in rows) and rows[0][0] == vid  # no header
        assert rows == [r[:8] for r in merged[1:] if r[0] == vid]
        for r in rows:
            match = pattern.match(r[7])
            assert match and match.group(1) == vid and r[6] in LABELS
            assert match.group(2) == "0" and int(match.group(3)) >= 2


def test_timestamps_fall_on_frame_times(corpus, tables):
    meta, face, body = tables
    for row in meta.itertuples():
        fps = row.fps_num / row.fps_den
        ts = face.loc[face["video_id"] == row.video_id, "frame_timestamp"].to_numpy()
        index = np.round(ts * fps)
        assert np.all(np.abs(ts - index / fps) < 1e-6)
        reader = decord.VideoReader(str(corpus / "videos" / f"{row.video_id}.mp4"))
        starts = reader.get_frame_timestamp(range(len(reader)))[:, 0]
        assert np.allclose(starts[index.astype(int)], ts, atol=1e-4)
        assert sorted(set(index.astype(int))) == list(range(row.n_frames))
    assert face[["video_id", "frame_timestamp", "entity_id", "label"]].equals(
        body[["video_id", "frame_timestamp", "entity_id", "label"]])


def test_boxes_labels_and_instances(tables):
    _, face, body = tables
    for table in (face, body):
        boxes = table[["entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2"]].to_numpy()
        assert boxes.min() >= 0 and boxes.max() <= 1
        assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
    assert (body["entity_box_y2"] >= face["entity_box_y2"]).all()  # body box reaches below the face
    assert (face["label"].map(LABELS.index) == face["label_id"]).all()
    assert {"SPEAKING_AUDIBLE", "NOT_SPEAKING"} <= set(face["label"])
    for eid, rows in face.groupby("entity_id", sort=False):
        flips = np.concatenate([[0], np.cumsum(rows["label_id"].to_numpy()[1:] != rows["label_id"].to_numpy()[:-1])])
        assert list(rows["instance_id"]) == [f"{eid}:{k}" for k in flips]


def test_evidence_matches_csv_and_audio(corpus, tables):
    meta, face, body = tables
    for row in meta.itertuples():
        ev = load_evidence(corpus / "evidence" / f"{row.video_id}.npz")
        n_frames, n_people = ev["label_id"].shape
        assert (n_frames, n_people) == (row.n_frames, row.n_people)
        rows = face[face["video_id"] == row.video_id]
        for p, eid in enumerate(ev["entity_ids"]):
            mine = rows[rows["entity_id"] == eid]
            assert np.allclose(mine.iloc[:, 2:6].to_numpy(), ev["face_box"][:, p], atol=1e-6)
            assert (mine["label_id"].to_numpy() == ev["label_id"][:, p]).all()
            brows = body[(body["video_id"] == row.video_id) & (body["entity_id"] == eid)]
            assert np.allclose(brows.iloc[:, 2:6].to_numpy(), ev["body_box"][:, p], atol=1e-6)
        mouth, fbox = ev["mouth_box"], ev["face_box"]
        inside = (mouth[..., 0] >= fbox[..., 0]) & (mouth[..., 2] <= fbox[..., 2]) & (mouth[..., 3] <= fbox[..., 3])
        assert inside.mean() > 0.95  # clipping at frame borders may cut a face box
        ticks = np.minimum(np.round(ev["frame_times_s"] * 100).astype(int), ev["voice_activity_100hz"].shape[1] - 1)
        agree = ev["voice_activity_100hz"][:, ticks].T == ev["speaking"]
        assert agree.mean() > 0.97  # differ only within 10 ms of a turn's edge
        assert ((ev["label_id"] == 1) == (ev["speaking"] & ev["audible"])).all()
        assert not (ev["mouthing"] & ev["speaking"]).any()


def test_speakers_mouths_follow_their_voice(corpus, tables):
    meta, _, _ = tables
    corr = []
    for row in meta.itertuples():
        ev = load_evidence(corpus / "evidence" / f"{row.video_id}.npz")
        ticks = np.minimum(np.round(ev["frame_times_s"] * 100).astype(int), ev["voice_envelope_100hz"].shape[1] - 1)
        for p in range(ev["label_id"].shape[1]):
            speaking = ev["speaking"][:, p]
            if speaking.sum() > 10:
                env = ev["voice_envelope_100hz"][p, ticks][speaking]
                corr.append(np.corrcoef(env, ev["mouth_open"][speaking, p])[0, 1])
    assert corr and min(corr) > 0.8
