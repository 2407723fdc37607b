"""Evidence checks on the synthetic corpus: crop geometry, voiced audio frames, pointing, blanking."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _av_tiny import small_model, tiny_corpus_and_store
from click.testing import CliRunner

from asd_explain.cli.explain_evidence import command as evidence_command
from asd_explain.data.store import TrackStore
from asd_explain.explain.av import TrackExplanation
from asd_explain.explain.av_evidence import (
    EvidenceConfig,
    box_masks,
    check_evidence,
    summarise,
    track_evidence,
    track_row,
)
from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint
from data_prep.synth import load_evidence


def test_box_masks_follow_the_crop_maths():
    # crop window [25, 75) x [20, 80) of a 100 x 100 frame, resized to 10 x 12 (h, w): scale 0.2 / 0.24 ... per axis
    crop = np.array([[0.25, 0.20, 0.75, 0.80]])
    inner = np.array([[0.50, 0.50, 0.75, 0.80]])  # x 50..75 -> 25..50 of 50 px -> 6..12 of 12; y 50..80 -> 5..10
    mask = box_masks(crop, inner, (100, 100), (10, 12))[0]
    expected = np.zeros((10, 12), dtype=bool)
    expected[5:10, 6:12] = True
    np.testing.assert_array_equal(mask, expected)
    # a box edge inside a pixel: the pixel counts when its centre is inside (x 1.4 -> columns 1..; 0.6 < 1.4)
    edge = box_masks(np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[0.14, 0.0, 0.36, 1.0]]), (10, 10), (10, 10))[0]
    np.testing.assert_array_equal(edge[0], [False, True, True, True] + [False] * 6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    corpus, store_path = tiny_corpus_and_store(tmp_path_factory)
    return corpus, TrackStore(store_path)


def test_track_evidence_matches_the_labels(tiny):
    corpus, store = tiny
    for entity in store.entity_ids:
        track = store.read(entity)
        evidence = load_evidence(corpus / "evidence" / f"{track.video_id}.npz")
        found = track_evidence(track, evidence)
        assert found.mouth_masks.shape == (track.n_frames, 112, 112) and found.mouth_masks.any(axis=(1, 2)).all()
        rows, cols = np.nonzero(found.mouth_masks.any(axis=0))
        assert rows.min() > 56 and 20 < cols.mean() < 92  # lower half of the face crop, near the middle
        assert found.gesture_masks.shape == (track.n_frames, 112, 112)
        assert not (found.voiced_own & ~found.voiced_any).any()  # own voice is one of the on-screen voices
        own = found.voiced_own.reshape(-1, 4).mean(axis=1)  # per video frame
        assert own[track.labels == 0].max(initial=0) == 0  # no own voice outside own audible turns
        if (track.labels == 1).sum() > 5:
            assert own[track.labels == 1].mean() > 0.5  # mostly voiced inside them


def fake_explanation(track, mouth_masks: np.ndarray, voiced: np.ndarray, at_mouth: bool) -> TrackExplanation:
    """Maps peaking at the mouth (or at the top-left corner); attention only on voiced frames; score 0.9."""
    n = track.n_frames
    maps = np.zeros((n, 112, 112), np.float32)
    if at_mouth:
        maps[mouth_masks] = 1.0
    else:
        maps[:, 0, 0] = 1.0
    attention = np.zeros((40, 4 * n), np.float32)
    attention[:, voiced] = 1.0
    shares = {"audio": np.full(n, 0.4, np.float32), "face": np.full(n, 0.4, np.float32),
              "body": np.full(n, 0.2, np.float32)}
    return TrackExplanation(scores=np.full(n, 0.9, np.float32), face_maps=maps, audio_attention=attention,
                            modality_shares=shares)


def test_rows_and_summary_from_known_maps(tiny):
    corpus, store = tiny
    rows = []
    for entity in store.entity_ids:
        track = store.read(entity)
        evidence = track_evidence(track, load_evidence(corpus / "evidence" / f"{track.video_id}.npz"))
        good = fake_explanation(track, evidence.mouth_masks, evidence.voiced_own, at_mouth=True)
        bad = fake_explanation(track, evidence.mouth_masks, evidence.voiced_own, at_mouth=False)
        blank = fake_explanation(track, evidence.mouth_masks, evidence.voiced_own, at_mouth=True)
        blank.modality_shares["face"] = np.full(track.n_frames, 0.1, np.float32)
        row = track_row(good, evidence, track, EvidenceConfig(), blank)
        assert row["mouth_hits"] == row["correct_speaking_frames"] == (track.labels == 1).sum()
        corner = track_row(bad, evidence, track, EvidenceConfig(), None)
        assert corner["mouth_hits"] == 0
        boxed = [np.argwhere(m).mean(axis=0) for m in evidence.mouth_masks[track.labels == 1] if m.any()]
        if boxed:  # the corner (0, 0) lies minus the box centre away from it
            assert corner["mouth_offset_dy"] == pytest.approx(np.median([-c[0] for c in boxed]))
            assert corner["mouth_offset_dx"] == pytest.approx(np.median([-c[1] for c in boxed]))
            assert corner["mouth_offset_dy"] < -10 and corner["mouth_offset_dx"] < -10
        full = track_row(good, evidence, track, EvidenceConfig(), None, tuple(track.face.shape[1:3]))
        assert full["mouth_ceiling_hits"] == row["correct_speaking_frames"]  # a map at crop size is the mask
        one = track_row(good, evidence, track, EvidenceConfig(), None, (1, 1))
        assert one["mouth_ceiling_hits"] == 0  # one cell: a flat map, its first pixel (a corner) points
        tf_any, tf_own = evidence.voice_tf_any, evidence.voice_tf_own
        assert tf_any is not None and tf_any.shape == (40, 4 * track.n_frames) and not (tf_own & ~tf_any).any()
        if tf_any.any():
            assert tf_any[:, evidence.envelope_any > 0].sum() >= 0.9 * tf_any.sum()  # voice bins lie in its turns
            on_voice = fake_explanation(track, evidence.mouth_masks, evidence.voiced_own, at_mouth=True)
            on_voice.audio_attention = tf_any.astype(np.float32)
            tf_row = track_row(on_voice, evidence, track, EvidenceConfig(), None)
            assert tf_row["audio_tf_mass_any"] == pytest.approx(1.0)
            assert tf_row["audio_tf_share_any"] == pytest.approx(tf_any.mean())
        if evidence.voiced_own.any():
            assert row["audio_mass_own"] == pytest.approx(1.0)
            assert row["audio_share_own"] == pytest.approx(evidence.voiced_own.mean())
        rows.append(row)
    summary = summarise(rows)
    assert summary["mouth_pointing"] == 1.0 and summary["mouth_energy"] == pytest.approx(1.0)
    # a map uniform over the box peaks at its first (top-left) pixel: minus half the box's extent from its centre
    boxes = []
    for entity in store.entity_ids:
        track = store.read(entity)
        masks = track_evidence(track, load_evidence(corpus / "evidence" / f"{track.video_id}.npz")).mouth_masks
        halves = [(-np.ptp(np.nonzero(m)[0]) / 2, -np.ptp(np.nonzero(m)[1]) / 2)
                  for m in masks[track.labels == 1] if m.any()]
        if halves:
            boxes.append(np.median(np.array(halves), axis=0))
    assert summary["mouth_peak_offset_px"] == pytest.approx(list(np.median(np.array(boxes), axis=0)))
    own = summary["audio_own"]
    assert own["mass"] == pytest.approx(1.0) and own["ratio_of_means"] == pytest.approx(1.0 / own["share"])
    assert own["ceiling"] == pytest.approx(own["ratio_of_means"])  # a perfect attention reaches the ceiling
    blanking = summary["face_blanking"]
    assert blanking["face_share"] == pytest.approx(0.4) and blanking["face_share_blanked"] == pytest.approx(0.1)
    assert blanking["tracks_lowered"] == 1.0


def test_check_evidence_end_to_end_and_cli(tiny, tmp_path):
    corpus, store = tiny
    model = small_model()
    result = check_evidence(model, store, corpus, EvidenceConfig(max_tracks=2, speaking_threshold=0.0),
                            tmp_path / "ev", progress=False)
    assert len(result.rows) == 2
    speaking = sum(int((store.read(e, modalities=()).labels == 1).sum()) for e in store.entity_ids[:2])
    assert result.summary["correct_speaking_frames"] == speaking  # threshold 0: every speaking frame counts
    assert 0.0 <= result.summary["mouth_pointing"] <= 1.0 and "face_blanking" in result.summary
    assert 0.0 <= result.summary["mouth_pointing_ceiling"] <= 1.0
    for name in ("any", "own"):
        if f"audio_tf_{name}" in result.summary:
            tf = result.summary[f"audio_tf_{name}"]
            rows = [r for r in result.rows if r.get(f"audio_tf_share_{name}", 0) > 0]
            best = np.mean([1.0 / r[f"audio_tf_share_{name}"] for r in rows])  # full-size maps, mean ratio
            assert 1.0 <= tf["ceiling_at_map_size"] <= best + 1e-6
            if name == "own":  # the map of every voice scored on the own one: at most the own voice's ceiling
                assert 0.0 < tf["voices_map_at_map_size"] <= tf["ceiling_at_map_size"] + 1e-6
    saved = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    assert saved["summary"]["tracks"] == 2 and (tmp_path / "ev" / "per_track.csv").is_file()

    checkpoint = tmp_path / "tiny.pt"
    atomic_torch_save(make_checkpoint(model), checkpoint)
    out = CliRunner().invoke(evidence_command, ["--checkpoint", str(checkpoint), "--data", str(store.path),
                                                "--corpus", str(corpus), "--out", str(tmp_path / "cli"),
                                                "--max-tracks", "1", "--quiet"])
    assert out.exit_code == 0, out.output
    assert "face map maximum in the mouth box" in out.output or "0 of" in out.output
    bad = CliRunner().invoke(evidence_command, ["--checkpoint", str(checkpoint), "--data", str(store.path),
                                                "--corpus", str(tmp_path), "--out", str(tmp_path / "x"), "--quiet"])
    assert bad.exit_code != 0 and "no evidence folder" in bad.output
