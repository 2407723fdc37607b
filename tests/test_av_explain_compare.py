"""SE vs grad-cam on the AV model: modality views, per-frame CAMs, FullGrad, cached stages, the report."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from _av_tiny import small_model, tiny_corpus_and_store
from click.testing import CliRunner

import asd_explain.explain.av_compare as av_compare
from asd_explain.cli.av_compare import command as compare_command
from asd_explain.explain.av_baselines import CachedStages, FoldedFullGrad, ModalityView, av_explainer
from asd_explain.explain.av_compare import AVCompareConfig, choose_clips, compare_av, se_checks
from asd_explain.explain.baselines import GradCamExplainer
from asd_explain.metrics.deletion import CausalSettings, deletion_insertion
from asd_explain.train.checkpoint import atomic_torch_save, make_checkpoint

B, T, SIZE = 2, 4, 48


def batch_of(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"face": torch.randn(B, T, 1, SIZE, SIZE, generator=g),
            "body": torch.randn(B, T, 1, SIZE, SIZE, generator=g), "audio": torch.randn(B, 4 * T, 40, generator=g)}


def test_views_run_the_model_and_cache_the_other_streams():
    model, batch = small_model(), batch_of()
    with torch.no_grad():
        logits = model(**batch)["logits"]
        for modality in ("face", "body", "audio"):
            view = ModalityView(model, batch, modality)
            v = view.to_view(batch[modality])
            torch.testing.assert_close(view.from_view(v), batch[modality], rtol=0, atol=0)
            out = view(v)
            torch.testing.assert_close(out.reshape(B, T, 2), logits)
            assert [n for n, _ in view.named_children()] == ["encoder"]
            cached = CachedStages(model, batch, modality)
            torch.testing.assert_close(cached(batch[modality]), logits, atol=1e-5, rtol=1e-5)
            swapped = cached.for_samples([1, 0])(batch[modality][[1, 0]])
            torch.testing.assert_close(swapped, logits[[1, 0]], atol=1e-5, rtol=1e-5)
        shift = batch["audio"].amin(dim=1, keepdim=True)
        shifted = CachedStages(model, batch, "audio", shift)
        torch.testing.assert_close(shifted(batch["audio"] - shift), logits, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="no body stream"):
        ModalityView(small_model(modalities=("audio", "face")), batch, "body")


def test_gradcam_through_the_view_is_per_frame_gradcam():
    model, batch = small_model(), batch_of(1)
    with av_explainer("gradcam", model, batch, "face") as explainer:
        result = explainer.explain(batch["face"])
    assert result.maps.shape == (B, T, SIZE, SIZE) and result.logits.shape == (B, T, 2)
    # by hand: gradient of the sum of every frame's predicted-class logit at the face SE output
    captured = {}
    handle = model.encoders["face"].se.register_forward_hook(lambda m, i, o: captured.setdefault("a", o))
    logits = model(**batch)["logits"]
    handle.remove()
    activation = captured["a"]  # (B, C, T, h, w)
    target = logits.gather(-1, logits.argmax(-1, keepdim=True)).sum()
    grads = torch.autograd.grad(target, activation)[0]
    weights = grads.mean(dim=(3, 4), keepdim=True)  # one weight per channel and frame
    cams = torch.relu((weights * activation).sum(1)).detach().numpy()  # (B, T, h, w)
    for b in range(B):
        for t in range(T):
            cam = cams[b, t] - cams[b, t].min()
            cam = cv2.resize(cam / (cam.max() + 1e-7), (SIZE, SIZE))
            cam = cam - cam.min()
            cam = cam / (cam.max() + 1e-7)
            np.testing.assert_allclose(result.maps[b, t].numpy(), cam, atol=1e-4)


def test_fullgrad_on_views():
    model, batch = small_model(), batch_of(2)
    view = ModalityView(model, batch, "audio")
    with av_explainer("fullgrad", model, batch, "audio") as folded:
        ours = folded.explain(batch["audio"]).maps
    with GradCamExplainer("fullgrad", view, out_size=view.out_size()) as plain:  # grad-cam's own FullGrad
        theirs = view.maps_to_batch(plain.explain(view.to_view(batch["audio"])).maps)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)  # no temporal layers: identical
    face_view = ModalityView(model, batch, "face")
    cam = FoldedFullGrad(face_view, [])
    try:
        maps = cam(face_view.to_view(batch["face"]), None)
        batch_norms = [m for m in face_view.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert len(cam._order) == len(batch_norms) == 1 + 2 * 5  # stem, then a spatial + a temporal BN per block
        assert len(cam._frame_size) == 5
    finally:
        cam.activations_and_grads.release()
    assert maps.shape == (B * T, SIZE, SIZE) and maps.min() >= 0 and maps.max() == pytest.approx(1.0, abs=1e-6)


def test_audio_deletion_ends_at_the_quietest_band_values():
    model, batch = small_model(), batch_of(3)
    offset = batch["audio"].amin(dim=1, keepdim=True)
    maps = torch.rand(B, 4 * T, 40)
    curves = deletion_insertion(CachedStages(model, batch, "audio", offset), batch["audio"] - offset, maps,
                                CausalSettings(steps=4))
    with torch.no_grad():
        clean = model(**batch)["logits"].softmax(-1)
        quiet = model(**{**batch, "audio": offset.expand_as(batch["audio"])})["logits"].softmax(-1)
    classes = clean.argmax(-1, keepdim=True)
    torch.testing.assert_close(curves.deletion[:, 0], clean.gather(-1, classes).squeeze(-1).mean(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(curves.deletion[:, -1], quiet.gather(-1, classes).squeeze(-1).mean(1), atol=1e-5, rtol=0)


def test_clip_choice_and_checks():
    assert choose_clips(np.array([10, 3, 7]), 3, 100) == [(0, 0, 3), (0, 3, 3), (0, 6, 3), (1, 0, 3), (2, 0, 3),
                                                         (2, 3, 3)]
    assert choose_clips(np.array([10, 3, 7]), 3, 3) == [(0, 0, 3), (0, 6, 3), (2, 3, 3)]  # candidates 0, 2, 5
    summary = [{"modality": "face", "method": "se", "insertion_auc": 0.70, "ms_per_clip": 10.0},
               {"modality": "face", "method": "gradcam", "insertion_auc": 0.74, "ms_per_clip": 30.0},
               {"modality": "face", "method": "fullgrad", "insertion_auc": 0.72, "ms_per_clip": 90.0}]
    checks = se_checks(summary)["face"]
    assert checks["best_baseline"] == "gradcam" and not checks["insertion_ok"]  # 0.70 < 0.74 - 0.03
    assert checks["gradcam_time_over_se"] == pytest.approx(3.0) and checks["time_ok"]


@pytest.mark.slow
def test_compare_report_resume_and_cli(tmp_path_factory, tmp_path, monkeypatch):
    corpus, store = tiny_corpus_and_store(tmp_path_factory)
    model = small_model()
    cfg = AVCompareConfig(methods=("se", "se-motion", "gradcam"), clips=2, clip_frames=6, batch_size=2,
                          causal=CausalSettings(steps=2, batch_size=8), speaking_threshold=0.0)
    result = compare_av(model, store, cfg, tmp_path / "cmp", corpus=corpus, progress=False)
    assert {(s["modality"], s["method"]) for s in result.summary} == {
        (m, k) for m in ("face", "body", "audio") for k in ("se", "se-motion", "gradcam")}
    for s in result.summary:
        assert 0 <= s["deletion_auc"] <= 1 and 0 <= s["insertion_auc"] <= 1 and s["ms_per_clip"] > 0
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert set(saved["checks"]) == {"face", "body", "audio"} | {f"{m}/se-motion" for m in ("face", "body", "audio")}
    for name in ("compare.md", "compare.csv", "per_clip.csv", "curves.png", "compare_grid.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0
    grid = cv2.imread(str(tmp_path / "cmp" / "compare_grid.png"))
    assert grid.shape[0] > 4 * 112  # input row + 3 methods

    def refuse(*args, **kwargs):
        raise AssertionError("a finished batch was recomputed")

    monkeypatch.setattr(av_compare, "run_method", refuse)
    again = compare_av(model, store, cfg, tmp_path / "cmp", corpus=corpus, progress=False)
    assert again.summary == result.summary  # everything came from progress.jsonl

    checkpoint = tmp_path / "tiny.pt"
    atomic_torch_save(make_checkpoint(model), checkpoint)
    out = CliRunner().invoke(compare_command, ["--checkpoint", str(checkpoint), "--data", str(store),
                                               "--out", str(tmp_path / "x"), "--methods", "se,gradcan"])
    assert out.exit_code != 0 and "unknown method 'gradcan'" in out.output
