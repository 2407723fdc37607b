"""The staged ASD model: shapes, SE placement, modality shares, variants, errors, no hard-coded device."""
from __future__ import annotations

import pytest
import torch

from asd_explain.models import ASDModel, ModelConfig, build_model, modality_shares, model_inputs
from asd_explain.se.block import SqueezeExcite


def inputs(batch=2, frames=8, size=48, n_features=40, body=True, audio=True):
    out = {"face": torch.randn(batch, frames, 1, size, size)}
    if body:
        out["body"] = torch.randn(batch, frames, 1, size, size)
    if audio:
        out["audio"] = torch.randn(batch, 4 * frames, n_features)
    return out


@pytest.mark.parametrize("modalities", [("audio", "face", "body"), ("audio", "face"), ("audio", "body"), ("face",)])
@pytest.mark.parametrize("se", [True, False])
def test_variants_forward_shapes(modalities, se):
    model = ASDModel(ModelConfig(modalities=modalities, se=se)).eval()
    x = inputs()
    out = model(**{m: x[m] for m in modalities})
    assert out["logits"].shape == (2, 8, 2)
    assert set(out["aux_logits"]) == set(modalities)
    n_se = sum(isinstance(m, SqueezeExcite) for m in model.modules())
    assert n_se == (len(modalities) + 1 if se else 0)


def test_default_model_size_and_se_layout():
    model = build_model()
    assert 1_000_000 <= model.num_parameters() <= 2_500_000
    blocks = model.se_blocks()
    assert [b.channels for b in blocks.values()] == [128, 96, 96, 384]
    assert blocks["face"].squeeze == "frame" and blocks["fusion"].squeeze == "frame"


def test_explain_forward_exposes_every_se_block():
    model = ASDModel().eval()
    x = inputs(frames=6, size=112)
    result = model.explain_forward(x)
    assert result["logits"].shape == (2, 6, 2)
    assert torch.all((result["scores"] >= 0) & (result["scores"] <= 1))
    face = result["se"]["face"]
    assert face["excitation"].shape == (2, 96, 6)            # per-frame squeeze
    assert face["scaled"].shape == (2, 96, 6, 7, 7)           # 7x7 map of a 112x112 crop, before pooling
    audio = result["se"]["audio"]
    assert audio["excitation"].shape == (2, 128) and audio["scaled"].shape == (2, 128, 5, 6)  # (B, C, F', T)
    assert result["se"]["fusion"]["excitation"].shape == (2, 384, 6)
    assert result["se"]["fusion"]["scaled"].shape == (2, 384, 6)
    shares = result["modality_shares"]
    total = shares["audio"] + shares["face"] + shares["body"]
    assert torch.allclose(total, torch.ones_like(total))
    assert all(not b._forward_hooks and not b.gate_tap._forward_hooks for b in model.se_blocks().values())  # released


def test_scaled_map_is_features_times_excitation():
    from asd_explain.models.blocks import frames_as_video

    model = ASDModel().eval()
    x = inputs(frames=4, size=64)
    result = model.explain_forward(x)
    face = result["se"]["face"]
    with torch.no_grad():
        features = frames_as_video(model.encoders["face"].feature_map(x["face"]), 4)  # (B, C, T, h, w)
    expected = features * face["excitation"][..., None, None]
    assert torch.allclose(face["scaled"], expected, atol=1e-6)
    assert torch.all((face["excitation"] > 0) & (face["excitation"] < 1))


def test_modality_shares_by_hand():
    # 2 modalities x 2 channels; per-clip excitation.
    s = torch.tensor([[0.5, 0.5, 1.0, 1.0]])
    shares = modality_shares(s, ("audio", "face"), 2)
    assert shares["audio"].item() == pytest.approx(1 / 3) and shares["face"].item() == pytest.approx(2 / 3)
    per_frame = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])  # (1, 4, T=2)
    frame_shares = modality_shares(per_frame, ("audio", "face"), 2)
    assert frame_shares["audio"].tolist() == [[1.0, 0.0]] and frame_shares["face"].tolist() == [[0.0, 1.0]]


def test_staged_forwards_compose_to_forward():
    model = ASDModel().eval()
    x = inputs()
    with torch.no_grad():
        full = model(**x)["logits"]
        emb = {"audio": model.forward_audio(x["audio"]), "face": model.forward_face(x["face"]),
               "body": model.forward_body(x["body"])}
        staged = model.forward_head(model.forward_temporal(model.forward_fusion(emb)))
    assert torch.equal(full, staged)
    assert emb["face"].shape == (2, 8, 128) and emb["audio"].shape == (2, 8, 128)


def test_no_se_model_matches_se_model_except_se_weights():
    with_se = ASDModel(ModelConfig(se=True)).state_dict()
    without = ASDModel(ModelConfig(se=False)).state_dict()
    extra = sorted(set(with_se) - set(without))
    assert extra and all(".se." in k or k.startswith("fusion.se") for k in extra)
    assert set(without) <= set(with_se)


@pytest.mark.parametrize("temporal", ["gru", "attention", "conv", "none"])
def test_temporal_models(temporal):
    model = ASDModel(ModelConfig(temporal=temporal, temporal_hidden=64)).eval()
    assert model(**inputs(frames=5))["logits"].shape == (2, 5, 2)


def test_every_parameter_gets_a_gradient():
    model = ASDModel().train()
    out = model(**inputs())
    loss = out["logits"].sum() + sum(v.sum() for v in out["aux_logits"].values())
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing  # DDP needs no find_unused_parameters


def test_runs_on_any_device_without_hard_coding():
    model = ASDModel().to("meta")
    x = {k: v.to("meta") for k, v in inputs(frames=4, size=32).items()}
    out = model(**x)
    assert out["logits"].device.type == "meta" and out["logits"].shape == (2, 4, 2)


def test_mfcc_and_resnet18_options():
    model = ASDModel(ModelConfig(visual_encoder="resnet18", audio_encoder="resnet18", audio_feature="mfcc",
                                 n_audio_features=13)).eval()
    assert model.num_parameters() > 30_000_000
    with torch.no_grad():
        out = model.explain_forward(inputs(batch=1, frames=4, size=64, n_features=13))
    assert out["se"]["face"]["scaled"].shape == (1, 512, 4, 4, 4)


def test_bad_inputs_and_configs_give_clear_errors():
    model = ASDModel().eval()
    x = inputs()
    with pytest.raises(ValueError, match=r"audio must be \(B, 4T, 40\)"):
        model(face=x["face"], body=x["body"], audio=x["audio"][:, :-1])
    with pytest.raises(ValueError, match=r"face must be \(B, T, 1, H, W\)"):
        model(face=x["face"].repeat(1, 1, 3, 1, 1), body=x["body"], audio=x["audio"])
    with pytest.raises(ValueError, match="missing input"):
        model(face=x["face"], audio=x["audio"])
    with pytest.raises(ValueError, match="disagree on the number of video frames"):
        model(face=x["face"], body=x["body"], audio=torch.randn(2, 36, 40))
    with pytest.raises(ValueError, match="batch has no"):
        model_inputs({"face": x["face"]}, ("audio", "face"))
    with pytest.raises(ValueError, match="modalities must be"):
        ModelConfig(modalities=("face", "voice"))
    with pytest.raises(ValueError, match="mfcc has 13"):
        ModelConfig(audio_feature="mfcc", n_audio_features=40)
    with pytest.raises(ValueError, match="unknown visual_encoder"):
        ASDModel(ModelConfig(visual_encoder="vgg"))


def test_audio_visual_products_by_hand():
    from asd_explain.models.temporal import AudioVisualProducts

    products = AudioVisualProducts(("audio", "face"), dim=2, product_dim=2)
    with torch.no_grad():
        for proj in (products.audio_proj["face"], products.visual_proj["face"]):
            proj.weight.copy_(torch.eye(2))
            proj.bias.zero_()
    fused = torch.tensor([[[2.0, 3.0, 5.0, 7.0]]])  # audio (2, 3), face (5, 7)
    assert products(fused).tolist() == [[[2.0, 3.0, 5.0, 7.0, 10.0, 21.0]]]
    assert ASDModel(ModelConfig(modalities=("face",))).av_interaction.__class__.__name__ == "Identity"


def test_audio_visual_correlation_by_hand():
    from asd_explain.models.temporal import AudioVisualCorrelation

    corr = AudioVisualCorrelation(("audio", "face"), dim=1, components=1, window=5)
    with torch.no_grad():
        for proj in (corr.audio_proj["face"], corr.visual_proj["face"]):
            proj.weight.fill_(1.0)
            proj.bias.zero_()
    t = torch.arange(20, dtype=torch.float32)
    voice = torch.sin(t * 1.3)
    in_step = corr(torch.stack([voice, 2.0 * voice + 1.0], dim=1)[None])[0, :, 2]
    out_of_step = corr(torch.stack([voice, -voice], dim=1)[None])[0, :, 2]
    assert torch.all(in_step[2:-2] > 0.99) and torch.all(out_of_step[2:-2] < -0.99)
    assert corr.out_dim == 2 + 1


def test_visual_map_stride_8_gives_14x14_maps_with_the_same_parameters():
    coarse, fine = ASDModel(ModelConfig()), ASDModel(ModelConfig(visual_map_stride=8))
    assert sum(p.numel() for p in coarse.parameters()) == sum(p.numel() for p in fine.parameters())
    frames = torch.zeros(1, 2, 1, 112, 112)
    assert tuple(coarse.encoders["face"].feature_map(frames).shape[-2:]) == (7, 7)
    assert tuple(fine.encoders["face"].feature_map(frames).shape[-2:]) == (14, 14)
    fine.load_state_dict(coarse.state_dict())  # the same weights fit both
    with pytest.raises(ValueError, match="visual_map_stride"):
        ModelConfig(visual_map_stride=4)
    with pytest.raises(ValueError, match="visual_map_stride"):
        ModelConfig(visual_map_stride=8, visual_encoder="resnet18")
