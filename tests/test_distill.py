"""Distillation of SE blocks into a published model (asd_explain.distill), on tiny generated tracks.

Uses the published Light-ASD weights from ``../shared/weights`` (or ``ASD_EXPLAIN_WEIGHTS``) and skips
without them. Faces are 32 x 32 generated crops (the encoders are fully convolutional, the SE blocks
squeeze whatever map size they get), so every test runs in seconds.
"""
from __future__ import annotations

import csv
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from asd_explain.distill import DistillConfig, DistillError, load_distilled, read_distilled
from asd_explain.distill.augment import augment_faces, make_clip
from asd_explain.distill.data import Track, whole_track_logits
from asd_explain.distill.forward import feature_maps, student_logits, teacher_logits
from asd_explain.distill.loop import distill_tracks, student_model
from asd_explain.models.pretrained import load_pretrained
from asd_explain.pretrained_inputs.prepare import track_mfcc

FILE = "pretrain_AVA_CVPR.model"


def weights_file() -> Path:
    env = os.environ.get("ASD_EXPLAIN_WEIGHTS")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "weights"
    for path in (folder / "light-asd" / FILE, folder / FILE):
        if path.is_file():
            return path
    pytest.skip(f"published light-asd weights not found in {folder} (put them in ../shared/weights or set "
                "ASD_EXPLAIN_WEIGHTS)")


def tiny_track(name: str, frames: int, seed: int, model, has_audio: bool = True) -> Track:
    """A moving blob 'mouth' on a grey face whose opening follows a syllable-rate tone's envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 25.0
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t + seed)
    yy, xx = np.mgrid[0:32, 0:32]
    faces = np.empty((frames, 32, 32), np.uint8)
    for i, e in enumerate(envelope):
        mouth = np.exp(-(((xx - 16) / 6.0) ** 2 + ((yy - 22) / (1 + 3 * e)) ** 2))
        faces[i] = np.clip(140 - 90 * mouth + rng.normal(0, 4, (32, 32)), 0, 255).astype(np.uint8)
    samples = np.arange(640 * frames) / 16000.0
    amp = np.repeat(envelope, 640) * (3000 if has_audio else 0)
    audio = (amp * np.sin(2 * np.pi * (180 + 20 * seed) * samples)).astype(np.int16)
    mfcc = track_mfcc(audio, frames)
    return Track(name, f"{name}.mp4", faces, audio, mfcc, has_audio, whole_track_logits(model, faces, mfcc))


CFG = DistillConfig(steps=6, clips_per_step=2, clip_s=(0.8, 1.6), lr=2e-2, eval_every=3, checkpoint_every=2,
                    eval_clips=2, face_variants=2, min_track_s=0.4, holdout_fraction=0.25)


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    path = weights_file()
    model, sha = student_model(CFG, path)
    tracks = [tiny_track("a", 60, 0, model), tiny_track("b", 50, 1, model),
              tiny_track("c", 40, 2, model, has_audio=False)]
    return path, sha, tracks


def perturbed(cfg: DistillConfig, path: Path):
    model, sha = student_model(cfg, path)
    torch.manual_seed(5)
    with torch.no_grad():
        for block in model.se_blocks().values():
            block.fc2.weight.normal_(0.0, 0.3)
    return model, sha


def fresh(tracks: list[Track]) -> list[Track]:
    return [replace(t, face_maps=None) for t in tracks]


def log_rows(run: Path) -> list[dict]:
    with (run / "log.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_student_path_equals_the_model_and_teacher_the_published(setup):
    path, _, tracks = setup
    model, _ = perturbed(CFG, path)
    faces = model.preprocessing.normalise_faces(torch.from_numpy(tracks[0].faces[:20]))[None]
    mfcc = torch.from_numpy(tracks[0].mfcc[:80])[None]
    with torch.no_grad():
        maps = feature_maps(model, faces, mfcc)
        student, gates = student_logits(model, maps)
        teacher = teacher_logits(model, maps)
        plain = load_pretrained("light-asd", path, verify_sha256=False)(face=faces, audio=mfcc)["logits"]
        assert torch.allclose(student, model(face=faces, audio=mfcc)["logits"], atol=1e-5)
    assert torch.allclose(teacher, plain, atol=1e-5)
    assert not torch.allclose(student, teacher, atol=1e-3)  # the perturbed gates do change the output
    assert gates["face"].shape == (1, 128, 20) and gates["fusion"].shape == (1, 256, 20)


def test_distillation_trains_only_se_lowers_the_loss_and_follows_the_teacher(setup, tmp_path):
    path, sha, tracks = setup
    model, _ = perturbed(CFG, path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = replace(CFG, steps=24, eval_every=12, sparsity_weight=0.0, share_weight=0.0, lr=1e-2)
    distill_tracks(model, sha, fresh(tracks), [False, False, False], tmp_path, cfg, progress=False,
                   report=lambda _: None)
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("se.") for k in changed)
    rows = log_rows(tmp_path)
    evals = [r for r in rows if r["kind"] == "eval"]  # a fixed held-out set: step 0 is before training
    assert evals[0]["step"] == "0" and float(evals[-1]["mse"]) < 0.75 * float(evals[0]["mse"])
    assert float(evals[-1]["pearson"]) > 0.9


def test_sparsity_pulls_gates_down_while_the_student_stays_with_the_teacher(setup, tmp_path):
    path, sha, tracks = setup
    model, _ = student_model(CFG, path)  # identity at initialisation: equal to the teacher
    cfg = replace(CFG, steps=6, eval_every=6, sparsity_weight=1.0, share_weight=0.0)
    distill_tracks(model, sha, fresh(tracks), [False] * 3, tmp_path, cfg, progress=False, report=lambda _: None)
    first, last = [r for r in log_rows(tmp_path) if r["kind"] == "eval"]
    assert float(first["mse"]) < 1e-10 and float(first["gate_mean_face"]) == 1.0
    assert float(last["gate_mean_face"]) < 0.99 and float(last["gate_mean_fusion"]) < 0.99
    assert float(last["pearson"]) > 0.9


def test_resume_after_a_stop_equals_an_uninterrupted_run(setup, tmp_path):
    path, sha, tracks = setup
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    distill_tracks(student_model(CFG, path)[0], sha, fresh(tracks), [False] * 3, whole, CFG, progress=False,
                   report=lambda _: None)
    distill_tracks(student_model(CFG, path)[0], sha, fresh(tracks), [False] * 3, stopped, CFG, progress=False,
                   report=lambda _: None, stop_after=3)  # checkpoint at 2, then 3 (the stop): resumes at 3
    assert read_distilled(stopped / "checkpoints" / "last.pt")["step"] == 3
    distill_tracks(student_model(CFG, path)[0], sha, fresh(tracks), [False] * 3, stopped, CFG, progress=False,
                   report=lambda _: None)
    a, b = (read_distilled(run / "checkpoints" / "last.pt") for run in (whole, stopped))
    assert a["step"] == b["step"] == CFG.steps
    for key in a["se_state"]:
        assert torch.allclose(a["se_state"][key], b["se_state"][key], atol=1e-6), key
    assert [r["step"] for r in log_rows(whole)] == [r["step"] for r in log_rows(stopped)]


def test_checkpoint_round_trip(setup, tmp_path):
    path, sha, tracks = setup
    model, _ = perturbed(CFG, path)
    best = distill_tracks(model, sha, fresh(tracks), [False, False, True], tmp_path, CFG, progress=False,
                          report=lambda _: None)
    state = read_distilled(best)
    assert state["pretrained"] == "light-asd" and state["weights_sha256"] == sha
    assert state["config"]["sparsity_weight"] == CFG.sparsity_weight and state["preprocessing"]["fps"] == 25.0
    loaded = load_distilled(tmp_path / "checkpoints" / "last.pt", path)
    faces = model.preprocessing.normalise_faces(torch.from_numpy(tracks[1].faces[:16]))[None]
    mfcc = torch.from_numpy(tracks[1].mfcc[:64])[None]
    with torch.no_grad():
        assert torch.allclose(loaded(face=faces, audio=mfcc)["logits"], model.eval()(face=faces, audio=mfcc)["logits"],
                              atol=1e-6)
    assert not loaded.training


def test_bad_checkpoint_is_one_line_naming_the_file(tmp_path, setup):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    other = tmp_path / "other.pt"
    torch.save({"format": "something/else"}, other)
    missing = tmp_path / "missing.pt"
    for bad in (garbage, other, missing):
        with pytest.raises(DistillError) as err:
            load_distilled(bad, setup[0])
        assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_a_silent_video_never_keeps_its_own_audio(setup):
    _, _, tracks = setup
    rng = np.random.default_rng(0)
    tracks = fresh(tracks)
    for t in tracks:
        t.face_maps = np.zeros((1, len(t), 1, 1, 1), np.float16)
    kinds = {make_clip(tracks, 2, 0, 20, [len(t) for t in tracks], rng, CFG.augment).kind for _ in range(20)}
    assert kinds <= {"swapped", "silence"} and kinds
    faces = augment_faces(tracks[0].faces, rng, CFG.augment)
    assert faces.shape == tracks[0].faces.shape and faces.dtype == np.uint8


def test_face_heatmaps_default_is_the_excitation_weighted_channel_mean(setup):
    from asd_explain.distill import track_face_heatmaps
    from asd_explain.distill.maps import face_heatmaps
    from asd_explain.explain.av_se import resize_maps

    path, _, tracks = setup
    model, _ = perturbed(CFG, path)
    track = tracks[0]
    heat, logits = track_face_heatmaps(model, track.faces[:20], track.mfcc[:80])
    assert heat.shape == (20, 32, 32) and logits.shape == (20,)
    assert np.allclose(heat.reshape(20, -1).max(1), 1.0) and np.allclose(heat.reshape(20, -1).min(1), 0.0)
    faces = model.preprocessing.normalise_faces(torch.from_numpy(track.faces[:20]))[None]
    maps = feature_maps(model, faces, torch.from_numpy(track.mfcc[:80])[None])
    gate = model.se_blocks()["face"].gate(maps.face)
    manual = resize_maps((maps.face * gate[..., None, None]).mean(1)[0], (32, 32), "bicubic")
    assert torch.allclose(face_heatmaps(model, maps, "all-weighted", 32), manual, atol=1e-5)
    centre = face_heatmaps(model, maps, "centre", 32)
    assert centre[0].argmax() // 32 in (15, 16) and centre[0].argmax() % 32 in (15, 16)


def test_real_check_helpers():
    from asd_explain.distill.real_check import lip_boxes, parse_segments, speech_labels

    segments = parse_segments("0-2.5, 3.5-4.7")
    assert segments == [(0.0, 2.5), (3.5, 4.7)]
    assert speech_labels(np.array([0.0, 2.5, 3.0, 4.0, 5.0]), segments).tolist() == [True, False, False, True, False]
    lips = np.array([[10.0, 20.0, 30.0, 28.0]])  # height 8, grown by 4 on every side
    assert np.allclose(lip_boxes(lips + np.array([[-4, -4, 4, 4]])), lips)


def test_cli_without_usable_videos_is_one_line(tmp_path, setup):
    from click.testing import CliRunner

    from asd_explain.cli.distill import command

    empty = tmp_path / "videos"
    empty.mkdir()
    (empty / "broken.mp4").write_bytes(b"not a video")
    result = CliRunner().invoke(command, ["--pretrained", "light-asd", "--videos", str(empty), "--out",
                                          str(tmp_path / "run"), "--weights", str(setup[0]), "--quiet"])
    assert result.exit_code != 0
    assert "broken.mp4: skipped" in result.output and "no face track" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert not (tmp_path / "run" / "checkpoints").exists()
