"""``explain VIDEO --pretrained``: the authors' scores reproduced by the pipeline, SE at init changes nothing,
the same outputs as ``explain``, and bad input (no face, undecodable audio, no audio stream) said plainly.

Needs ``../shared/weights`` and ``../shared/data/real`` (skipped without them).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from asd_explain.explain.map_settings import MapSettings
from asd_explain.models.pretrained import load_pretrained
from asd_explain.pipeline import explain_pretrained as pipeline
from asd_explain.pipeline.explain_pretrained import PretrainedExplainOptions, explain_video_pretrained
from asd_explain.pipeline.pretrained_track import explain_authors_track
from asd_explain.pretrained_inputs.multi_duration import multi_duration_scores

SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = SHARED / "weights"
CLIP = SHARED / "data" / "real" / "talking_head_2.mp4"
pytestmark = [
    pytest.mark.skipif(not (WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model").is_file(),
                       reason="published weights not in ../shared/weights"),
    pytest.mark.skipif(not CLIP.is_file(), reason="real clips not in ../shared/data/real"),
]


@pytest.fixture(autouse=True)
def _weights_folder(monkeypatch):
    monkeypatch.setenv("ASD_EXPLAIN_WEIGHTS", str(WEIGHTS))


def _remux(src: Path, dst: Path, *, audio: str, seconds: float = 2.0) -> Path:
    """The first ``seconds`` of ``src``; audio "keep", "drop" (no audio stream) or "garble" (random bytes in
    every audio packet, which the decoder refuses)."""
    rng = np.random.default_rng(0)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        v_in, a_in = inp.streams.video[0], inp.streams.audio[0]
        v_out = out.add_stream_from_template(v_in)
        a_out = out.add_stream_from_template(a_in) if audio != "drop" else None
        for packet in inp.demux(v_in, a_in):
            if packet.dts is None or float(packet.pts * packet.time_base) > seconds:
                continue
            if packet.stream is a_in:
                if a_out is None:
                    continue
                if audio == "keep":
                    packet.stream = a_out
                    out.mux(packet)
                    continue
                junk = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                junk.pts, junk.dts, junk.time_base = packet.pts, packet.dts, packet.time_base
                junk.stream = a_out
                out.mux(junk)
            else:
                packet.stream = v_out
                out.mux(packet)
    return dst


def _options(**kwargs) -> PretrainedExplainOptions:
    return PretrainedExplainOptions(**{"landmarks": "none", "progress": False, "device": "cpu", **kwargs})


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """One end-to-end run on 2 s of the real clip, with the prepared tracks it used."""
    tmp = tmp_path_factory.mktemp("pretrained")
    clip = _remux(CLIP, tmp / "clip.mp4", audio="keep")
    seen = {}
    real = pipeline.prepare_authors_tracks

    def recording(*args, **kwargs):
        seen["video"] = real(*args, **kwargs)
        return seen["video"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASD_EXPLAIN_WEIGHTS", str(WEIGHTS))
        patch.setattr(pipeline, "prepare_authors_tracks", recording)
        summary = explain_video_pretrained(clip, tmp / "out", _options())
    return summary, seen["video"], tmp / "out"


def _plain_class1(model):
    return lambda faces, mfcc: model(face=faces, audio=mfcc)["logits"][..., 1]


def test_scores_are_the_authors_multi_duration_scores_and_se_at_init_changes_nothing(explained):
    summary, prepared, out = explained
    assert len(prepared.tracks) == 1 and summary["faces_found"]
    track = prepared.tracks[0]
    plain = load_pretrained("light-asd")  # no SE
    faces = plain.preprocessing.normalise_faces(torch.from_numpy(track.faces))[None]
    mfcc = torch.from_numpy(track.mfcc)[None]
    authors = multi_duration_scores(_plain_class1(plain), faces, mfcc)
    with_se = explain_authors_track(load_pretrained("light-asd", se=True), track.faces, track.mfcc,
                                    settings=MapSettings())
    np.testing.assert_allclose(with_se.authors_scores, authors, atol=1e-5)
    rows = list(csv.reader((out / "scores.csv").open()))
    assert len(rows) == len(track) and all(len(r) == 9 and r[6] == "SPEAKING_AUDIBLE" for r in rows)
    np.testing.assert_allclose([float(r[8]) for r in rows], with_se.explanation.scores, atol=1e-6)
    assert summary["tracks"][0]["mean_authors_score"] == pytest.approx(float(authors.mean()), abs=1e-4)


def test_single_pass_is_one_forward_of_the_plain_model(explained):
    _, prepared, _ = explained
    track = prepared.tracks[0]
    plain = load_pretrained("lr-asd")
    faces = plain.preprocessing.normalise_faces(torch.from_numpy(track.faces))[None]
    with torch.no_grad():
        logits = plain(face=faces, audio=torch.from_numpy(track.mfcc)[None])["logits"][0]
    result = explain_authors_track(load_pretrained("lr-asd", se=True), track.faces, track.mfcc,
                                   settings=MapSettings(), scoring="single-pass")
    np.testing.assert_allclose(result.logits, logits.numpy(), atol=1e-5)
    assert set(result.explanation.importance) == {"se_mass", "kept_channels", "occlusion", "native_gate"}
    gate = result.explanation.importance["native_gate"]["audio"]
    assert gate.shape == (len(track),) and 0 < gate.min() and gate.max() < 1


def test_outputs_match_explain(explained):
    summary, prepared, out = explained
    assert {p.name for p in out.iterdir()} >= {"scores.csv", "summary.json", "summary.png", "clip_explained.mp4",
                                               "tracks"}
    assert not list(out.parent.glob(".out.partial*"))
    with av.open(str(out / "clip_explained.mp4")) as container:
        assert container.streams.audio and container.streams.video
    track = summary["tracks"][0]
    assert track["shares_kind"] == "occlusion" and track["shares_move"]  # identity SE: kept channels do not move
    assert set(track["modality_importance"]) == {"se_mass", "kept_channels", "occlusion"}
    assert track["frames"] == len(prepared.tracks[0]) and summary["pretrained"]["scoring"] == "multi-duration"
    assert json.loads((out / "summary.json").read_text())["tracks"][0]["entity_id"] == track["entity_id"]


def test_no_face_says_so_and_writes_every_output(tmp_path):
    from asd_explain.pipeline.video_writer import Mp4Writer

    rng = np.random.default_rng(1)
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000)).astype(np.float32)
    with Mp4Writer(tmp_path / "noise.mp4", 25, 160, 120, audio=(tone, 16000)) as writer:
        for _ in range(50):
            writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    summary = explain_video_pretrained(tmp_path / "noise.mp4", tmp_path / "out", _options())
    assert not summary["faces_found"] and summary["tracks"] == []
    assert any("no face found" in n for n in summary["notes"])
    assert (tmp_path / "out" / "scores.csv").read_text() == ""
    assert (tmp_path / "out" / "noise_explained.mp4").is_file()


@pytest.mark.parametrize("audio", ["garble", "drop"])
def test_audio_that_cannot_be_used_is_scored_as_silence_and_said(tmp_path, audio):
    clip = _remux(CLIP, tmp_path / f"{audio}.mp4", audio=audio)
    summary = explain_video_pretrained(clip, tmp_path / "out", _options(render=False, scoring="single-pass"))
    note = summary["notes"][0]
    assert ("could not be decoded" in note if audio == "garble" else "no audio track" in note), note
    assert "silence" in note and summary["faces_found"]
    silent = summary["tracks"][0]
    assert silent["mean_score"] < 0.5  # a talking face without its voice: not speaking


def test_bad_video_is_one_line_and_leaves_nothing(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(ValueError, match="junk.mp4") as err:
        explain_video_pretrained(junk, tmp_path / "out", _options())
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("name", ["light-asd", "lr-asd"])
def test_fast_occlusion_equals_the_full_blank_pass(name):
    from asd_explain.explain.av_se import SEAVExplainer
    from asd_explain.explain.importance import occlusion_importance
    from asd_explain.pipeline.pretrained_track import PretrainedSEExplainer, fast_occlusion

    model = load_pretrained(name, se=True)
    generator = torch.Generator().manual_seed(0)
    batch = {"face": torch.randn(1, 70, 112, 112, generator=generator),
             "audio": torch.randn(1, 280, 13, generator=generator)}
    run = SEAVExplainer(model).forward(batch)
    full = occlusion_importance(model, run.inputs, run.embeddings, run.scores, ("audio", "face"))
    fast = fast_occlusion(model, run)
    for m in ("audio", "face"):
        np.testing.assert_allclose(fast[m].numpy(), full[m].numpy(), atol=1e-5)
    explained = PretrainedSEExplainer(model).explain(batch)
    np.testing.assert_allclose(explained.importance["occlusion"]["face"].numpy(), full["face"].numpy(), atol=1e-5)
