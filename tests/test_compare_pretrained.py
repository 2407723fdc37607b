"""``compare`` on the published models: a labelled store of authors' crops with mouth regions, the published
architectures through the grad-cam views (FullGrad with their 3-D BatchNorms), identity SE = the plain model,
mouth pointing of known peaks, and the CLI with the published weights (skipped without ../shared/weights)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from asd_explain.cli.av_compare import command as compare_command
from asd_explain.data.store import TrackStore
from asd_explain.data.store_writer import VideoWriter
from asd_explain.distill import PRETRAINED_FACE_MAPS
from asd_explain.explain.av_baselines import PUBLISHED_TARGET, CachedStages, FoldedFullGrad, ModalityView
from asd_explain.explain.av_compare import AVCompareConfig, _dataset, compare_av, explain_maps
from asd_explain.explain.av_mouth import score_mouth, summarise_mouth
from asd_explain.metrics.deletion import CausalSettings
from asd_explain.models.light_asd import LightASD
from asd_explain.models.lr_asd import LRASD
from asd_explain.pretrained_inputs.labelled_store import (
    LabelledVideo,
    open_authors_store,
    read_mouth,
    speech_labels,
    write_prepared,
)
from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, AuthorsTrack, AuthorsVideo, track_mfcc

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"
FRAMES = (20, 14)


def _track(k: int, n: int, rng: np.random.Generator) -> AuthorsTrack:
    """A prepared track of n frames: smooth random faces (a dark 'mouth' that opens and closes), random audio."""
    faces = np.full((n, 112, 112), 120, np.uint8)
    for t in range(n):
        faces[t, 70:78 + 4 * (t % 3), 40:72] = 30
    faces = np.clip(faces + rng.integers(0, 20, faces.shape), 0, 255).astype(np.uint8)
    audio = (rng.normal(0, 3000, 640 * n)).astype(np.int16)
    times = np.arange(n) / 25.0
    boxes = np.tile(np.array([100.0, 80.0, 300.0, 280.0]), (n, 1))
    return AuthorsTrack(k, np.arange(n), np.arange(n), times, boxes, None, faces, audio, track_mfcc(audio, n))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> TrackStore:
    rng = np.random.default_rng(0)
    root = open_authors_store(tmp_path_factory.mktemp("real") / "store", AuthorsPrepConfig(), "dlib68")
    tracks = [_track(k, n, rng) for k, n in enumerate(FRAMES)]
    video = AuthorsVideo(Path("clip.mp4"), 25.0, (400, 400), tracks)
    regions = [np.tile(np.array([36.0, 62.0, 76.0, 94.0]), (n, 1)) for n in FRAMES]  # lips 44..68 x 70..86
    regions[1][3] = np.nan  # a frame without landmarks
    with VideoWriter(root, "clip") as writer:
        write_prepared(writer, video, LabelledVideo(Path("clip.mp4"), ((0.2, 0.5),)), regions)
    return TrackStore(root)


def test_store_holds_the_authors_inputs(store):
    rng = np.random.default_rng(0)
    tracks = [_track(k, n, rng) for k, n in enumerate(FRAMES)]
    assert store.entity_ids == ["clip:0", "clip:1"] and store.settings["face_crop"] == "authors"
    track = store.read("clip:0")
    np.testing.assert_array_equal(track.face, tracks[0].faces)
    np.testing.assert_array_equal(track.labels, speech_labels(np.arange(20) / 25, [(0.2, 0.5)]))
    assert track.labels.sum() == 8  # frames 5..12 start inside [0.2, 0.5)
    np.testing.assert_allclose(track.timestamps_s, np.arange(20) / 25 + 0.02)
    # the store's MFCC (PsfAudioDataset) of a clip are the authors' rows of the whole track's MFCC
    dataset = _dataset(store, LightASD())
    item = dataset[(0, 4, 8)]
    np.testing.assert_allclose(item["audio"], tracks[0].mfcc[16:48], atol=1e-3, rtol=1e-4)
    assert read_mouth(store, "clip:1", 2, 5).shape == (3, 4) and np.isnan(read_mouth(store, "clip:1")[3]).all()


def test_identity_se_scores_and_stages_equal_the_plain_model(store):
    torch.manual_seed(0)
    plain = LightASD().eval()
    model = LightASD(se=True).eval()
    model.load_state_dict(plain.state_dict(), strict=False)
    dataset = _dataset(store, model)
    batch = dataset.collate([dataset[(0, 0, 8)], dataset[(1, 2, 8)]])
    with torch.no_grad():
        logits = plain(face=batch["face"], audio=batch["audio"])["logits"]
    maps, _, scores = explain_maps(model, batch, "se", ("face", "audio"), PRETRAINED_FACE_MAPS)
    torch.testing.assert_close(scores, logits.softmax(-1)[..., 1], atol=1e-6, rtol=0)
    assert maps["face"].shape == (2, 8, 112, 112) and maps["audio"].shape == (2, 32, 13)
    for modality in ("face", "audio"):
        with torch.no_grad():
            torch.testing.assert_close(CachedStages(model, batch, modality)(batch[modality]), logits,
                                       atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("architecture", [LightASD, LRASD])
def test_gradcam_views_and_fullgrad_on_published_architectures(store, architecture):
    model = architecture(se=True).eval()
    dataset = _dataset(store, model)
    batch = dataset.collate([dataset[(0, 0, 4)]])
    view = ModalityView(model, batch, "face")
    assert view.target_layer == PUBLISHED_TARGET and view.encoder is model.visual_encoder
    cam = FoldedFullGrad(view, [])
    try:
        out = cam(view.to_view(batch["face"]), None)
        norms = [m for m in model.visual_encoder.modules() if isinstance(m, torch.nn.BatchNorm3d)]
        assert len(norms) > 0 and len(cam._order) == len(norms) == len(cam._grads)  # every 3-D BN's bias
    finally:
        cam.activations_and_grads.release()
    assert out.shape == (4, 112, 112) and out.max() == pytest.approx(1.0, abs=1e-6)
    for method in ("gradcam", "fullgrad"):
        maps, seconds, _ = explain_maps(model, batch, method, ("face", "audio"))
        assert maps["face"].shape == (1, 4, 112, 112) and maps["audio"].shape == (1, 16, 13)
        assert set(seconds) == {"face", "audio"}


def test_mouth_pointing_of_known_peaks():
    labels = torch.tensor([[1, 1, 1, 0]])
    batch = {"labels": labels, "label_mask": torch.ones(1, 4, dtype=torch.bool)}
    regions = np.array([[36.0, 62.0, 76.0, 94.0]] * 3 + [[np.nan] * 4])  # lip box 44..68 x 70..86
    maps = torch.zeros(1, 4, 112, 112)
    maps[0, 0, 78, 56] = 1  # on the lips
    maps[0, 1, 64, 40] = 1  # in the grown region, off the lips
    maps[0, 2, 10, 10] = 1  # far away
    maps[0, 3, 78, 56] = 1  # a silent frame: not counted
    row: dict = {}
    score_mouth([row], maps, batch, [regions])
    assert row == {"mouth_frames": 3, "face_mouth_hits": 2, "face_lips_hits": 1,
                   "centre_mouth_hits": 0, "centre_lips_hits": 0}  # the centre (55, 55) is above the region
    summary = summarise_mouth([row, dict(row)])
    assert summary["mouth_frames"] == 6 and summary["mouth_pct"] == pytest.approx(200 / 3)
    assert summary["lips_pct"] == pytest.approx(100 / 3) and summary["centre_mouth_pct"] == 0


def test_compare_reports_mouth_pointing_per_method(store, tmp_path):
    model = LightASD(se=True).eval()
    cfg = AVCompareConfig(methods=("se", "se-paper", "gradcam"), clips=3, clip_frames=6, batch_size=2,
                          causal=CausalSettings(steps=2, batch_size=8), maps=PRETRAINED_FACE_MAPS)
    result = compare_av(model, store, cfg, tmp_path / "cmp", progress=False)
    assert set(result.info["modalities"]) == {"face", "audio"}
    face = {s["method"]: s for s in result.summary if s["modality"] == "face"}
    # clips (0, 0), (0, 12), (1, 6) of 6 frames; speaking frames 5..12 of each track -> 1 + 1 + 6
    assert {s["mouth_frames"] for s in face.values()} == {8}
    assert all(s["centre_mouth_pct"] == 0.0 for s in face.values())
    assert {s["modality"] for s in result.summary} == {"face", "audio"}
    text = (tmp_path / "cmp" / "compare.md").read_text()
    assert "mouth" in text


@pytest.mark.skipif(not (WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model").is_file(),
                    reason="published weights not in ../shared/weights")
def test_cli_compares_a_published_model(store, tmp_path, monkeypatch):
    monkeypatch.setenv("ASD_EXPLAIN_WEIGHTS", str(WEIGHTS))
    out = tmp_path / "cli"
    result = CliRunner().invoke(compare_command, [
        "--pretrained", "lr-asd", "--data", str(store.path), "--out", str(out), "--methods", "se,fullgrad",
        "--clips", "2", "--clip-frames", "6", "--steps", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "compare.json").read_text())
    assert payload["info"]["pretrained"] == "lr-asd"
    assert {(s["modality"], s["method"]) for s in payload["summary"]} == {
        (m, k) for m in ("face", "audio") for k in ("se", "fullgrad")}
    bad = CliRunner().invoke(compare_command, ["--pretrained", "lr-asd", "--checkpoint", "x.pt", "--data",
                                               str(store.path), "--out", str(out)])
    assert bad.exit_code != 0 and "exactly one" in bad.output


def test_prep_labelled_arguments(tmp_path):
    from asd_explain.cli.prep_labelled import command as prep_command
    from asd_explain.pretrained_inputs.labelled_store import parse_segments

    assert parse_segments("0-2.5, 3.5-4.7") == [(0.0, 2.5), (3.5, 4.7)] and parse_segments("") == []
    with pytest.raises(ValueError, match="'3.5' is not START-END"):
        parse_segments("0-1,3.5")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    result = CliRunner().invoke(prep_command, ["--video", str(video), "--video", str(video), "--speech", "0-1",
                                               "--out", str(tmp_path / "s")])
    assert result.exit_code != 0 and "one --speech per --video" in result.output
    result = CliRunner().invoke(prep_command, ["--video", str(video), "--speech", "2-1", "--out", str(tmp_path / "s")])
    assert result.exit_code == 1 and "ends before it starts" in result.output


def test_benchmark_reads_the_readme_segments_and_writes_the_table(tmp_path):
    from _bench_script import load_benchmark

    bench = load_benchmark("compare_pretrained_real")
    readme = tmp_path / "README.md"
    readme.write_text("| file | size | speech |\n|---|---|---|\n| a.mp4 | 700 x 700 | 0.0-2.5, 3.5-4.7 |\n"
                      "| b.mp4 | 844 | 0.2-2.4 |\n")
    assert bench.readme_speech(readme) == {"a.mp4": [(0.0, 2.5), (3.5, 4.7)], "b.mp4": [(0.2, 2.4)]}
    summary = [{"modality": "face", "method": "se", "mouth_pct": 90.0, "lips_pct": 80.0, "deletion_auc": 0.5,
                "insertion_auc": 0.7, "ms_per_clip": 10.0, "centre_mouth_pct": 100.0, "centre_lips_pct": 50.0},
               {"modality": "audio", "method": "se", "deletion_auc": 0.4, "insertion_auc": 0.6, "ms_per_clip": 10.0}]
    lines = bench.table([{"model": "m", "se": "distilled", "summary": summary}]).splitlines()
    assert lines[2] == "| m | distilled | se | 90.0 | 80.0 | 0.500 | 0.700 | 0.400 | 0.600 | 10 / 10 |"
    assert lines[3].startswith("| m | distilled | crop centre (no model) | 100.0 | 50.0 |")
