"""The AV explainers behind one type: SEAVExplainer, the registries, MapSettings and modality importance."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _av_tiny import small_model

from asd_explain.explain.av import explain_av_batch
from asd_explain.explain.av_explainers import AV_EXPLAINERS, build_av_explainer
from asd_explain.explain.av_se import SEAVExplainer
from asd_explain.explain.base import Explainer, Explanation
from asd_explain.explain.importance import kept_channel_share, occlusion_importance, se_mass_share
from asd_explain.explain.map_settings import MapSettings
from asd_explain.explain.references import MAP_REFERENCES, kept_channel_maps, register_reference
from asd_explain.models.heads import speaking_probability

B, T, SIZE = 2, 6, 48


def random_batch(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"face": torch.randn(B, T, 1, SIZE, SIZE, generator=g),
            "body": torch.randn(B, T, 1, SIZE, SIZE, generator=g), "audio": torch.randn(B, 4 * T, 40, generator=g),
            "label_mask": torch.tensor([[True] * T, [True] * (T - 2) + [False] * 2])}


def test_se_explainer_is_an_explainer_with_maps_per_modality_and_importance():
    model, batch = small_model(), random_batch()
    explainer = SEAVExplainer(model)
    assert isinstance(explainer, Explainer)
    result = explainer.explain(batch)
    assert isinstance(result, Explanation)
    assert set(result.maps) == {"face", "body", "audio"}
    assert result.maps["face"].shape == (B, T, SIZE, SIZE) and result.maps["audio"].shape == (B, 4 * T, 40)
    assert torch.count_nonzero(result.maps["face"][1, T - 2:]) == 0  # padding frames stay empty
    assert set(result.importance) == {"se_mass", "kept_channels", "occlusion"}
    with torch.no_grad():
        logits = model(face=batch["face"], body=batch["body"], audio=batch["audio"])["logits"]
        shares = model.explain_forward(batch)["modality_shares"]
    torch.testing.assert_close(result.logits, logits)
    for m in ("audio", "face", "body"):
        torch.testing.assert_close(result.importance["se_mass"][m], shares[m])
    # the per-track form is a conversion of this result
    tracks = explain_av_batch(model, batch)
    np.testing.assert_array_equal(tracks[1].face_maps, result.maps["face"][1, :T - 2].numpy())
    np.testing.assert_array_equal(tracks[0].audio_attention, result.maps["audio"][0].numpy().T)
    np.testing.assert_array_equal(tracks[1].importance["occlusion"]["audio"],
                                  result.importance["occlusion"]["audio"][1, :T - 2].numpy())
    assert tracks[0].track_importance["kept_channels"]["face"] == pytest.approx(
        float(result.importance["kept_channels"]["face"][0].mean()))
    assert "occlusion" not in SEAVExplainer(model, MapSettings(occlusion=False)).explain(batch).importance


def test_kept_channel_and_mass_shares_by_hand():
    # 2 audio + 2 face channels, 2 frames: frame 0 one audio channel stands out, frame 1 one face channel
    gate = torch.tensor([[[0.9, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.9]]])  # (B=1, C=4, T=2)
    layout = (("audio", 2), ("face", 2))
    kept = kept_channel_share(gate, layout, 2, z=1.0)  # mean 0.3, std 0.346: only the 0.9 is above
    torch.testing.assert_close(kept["audio"], torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(kept["face"], torch.tensor([[0.0, 1.0]]))
    flat = kept_channel_share(torch.ones(1, 4, 2), (("audio", 1), ("face", 3)), 2, z=1.282)  # nothing stands out
    torch.testing.assert_close(flat["audio"], torch.full((1, 2), 0.25))  # every channel counts, none forced in
    mass = se_mass_share(gate, layout, 2)
    torch.testing.assert_close(mass["audio"], torch.tensor([[1.0 / 1.2, 0.2 / 1.2]]))
    # uneven layouts and one gate per clip (the same share on every frame)
    clip = torch.tensor([[0.9, 0.8, 0.1, 0.1, 0.1, 0.1]])
    uneven = kept_channel_share(clip, (("audio", 2), ("face", 4)), 3, z=0.5)
    torch.testing.assert_close(uneven["audio"], torch.ones(1, 3))
    with pytest.raises(ValueError, match="layout"):
        se_mass_share(clip, (("audio", 2), ("face", 2)), 3)


def test_occlusion_is_the_score_change_when_a_modality_is_blanked():
    model, batch = small_model(), random_batch(1)
    result = SEAVExplainer(model).explain(batch)
    with torch.no_grad():
        clean = speaking_probability(model(face=batch["face"], body=batch["body"], audio=batch["audio"])["logits"])
        no_face = speaking_probability(model(face=torch.zeros_like(batch["face"]), body=batch["body"],
                                             audio=batch["audio"])["logits"])
        silence = model.blank_input("audio", batch["audio"])
        no_audio = speaking_probability(model(face=batch["face"], body=batch["body"], audio=silence)["logits"])
    torch.testing.assert_close(result.importance["occlusion"]["face"], clean - no_face, atol=1e-5, rtol=0)
    torch.testing.assert_close(result.importance["occlusion"]["audio"], clean - no_audio, atol=1e-5, rtol=0)
    assert torch.allclose(silence, torch.full_like(silence, float(np.log(1e-6))))  # log-mel of silence

    class StagesOnly:  # a model of the staged-forward contract without blank_input: blanks are zeros
        def __getattr__(self, name):
            if name == "blank_input":
                raise AttributeError(name)
            return getattr(model, name)

    with torch.no_grad():
        embeddings = {m: getattr(model, f"forward_{m}")(batch[m]) for m in model.modalities}
        plain = occlusion_importance(StagesOnly(), batch, embeddings, clean, ("face", "audio"))
    torch.testing.assert_close(plain["face"], clean - no_face, atol=1e-5, rtol=0)
    with torch.no_grad():
        zero_audio = speaking_probability(model(face=batch["face"], body=batch["body"],
                                                audio=torch.zeros_like(batch["audio"]))["logits"])
    torch.testing.assert_close(plain["audio"], clean - zero_audio, atol=1e-5, rtol=0)


def test_a_new_reference_is_one_registered_function():
    @register_reference("abs-test")
    def absolute(block, settings):
        return kept_channel_maps(block.scaled.abs(), block, settings)

    try:
        model, batch = small_model(), random_batch(2)
        settings = MapSettings(reference="abs-test", audio_reference="zero")
        assert settings.body_reference == "abs-test" and settings.reference_for("audio") == "zero"
        got = explain_av_batch(model, batch, settings)
        zero = explain_av_batch(model, batch)
        np.testing.assert_array_equal(got[0].audio_attention, zero[0].audio_attention)
        assert got[0].face_maps.shape == zero[0].face_maps.shape
        with pytest.raises(ValueError, match="already registered"):
            register_reference("abs-test")(absolute)
    finally:
        del MAP_REFERENCES["abs-test"]
    with pytest.raises(ValueError, match="reference must be one of"):
        MapSettings(reference="abs-test")


def test_every_registered_explainer_returns_the_same_type():
    model, batch = small_model(), random_batch(3)
    batch["label_mask"] = torch.ones(B, T, dtype=torch.bool)
    assert {"se", "se-clipmean", "se-speaking", "se-motion", "gradcam", "fullgrad"} <= set(AV_EXPLAINERS)
    for name in ("se-motion", "gradcam"):
        with build_av_explainer(name, model, modalities=("face", "audio")) as explainer:
            result = explainer.explain(batch)
        assert isinstance(result, Explanation) and set(result.maps) == {"face", "audio"}
        assert result.maps["face"].shape == (B, T, SIZE, SIZE) and result.maps["audio"].shape == (B, 4 * T, 40)
        assert result.logits.shape == (B, T, 2) and set(result.extras["seconds"]) == {"face", "audio"}
    with pytest.raises(ValueError, match="unknown explainer"):
        build_av_explainer("gradcan", model)


def test_map_settings_validate_and_record_themselves():
    settings = MapSettings(reference="motion", motion_window=13)
    assert settings.to_dict()["audio_reference"] == "motion" and settings.to_dict()["motion_window"] == 13
    assert settings.with_reference("zero").body_reference == "zero"
    for bad in ({"motion_window": 4}, {"normalize": "clip"}, {"top_percent": 0}, {"interpolation": "area"}):
        with pytest.raises(ValueError):
            MapSettings(**bad)


def test_cli_builds_one_settings_object(monkeypatch):
    import click
    from click.testing import CliRunner

    from asd_explain.cli.options import map_settings_options

    seen = {}

    @click.command()
    @map_settings_options
    def probe(settings):
        seen["settings"] = settings

    result = CliRunner().invoke(probe, ["--reference", "motion", "--motion-window", "13", "--no-occlusion"])
    assert result.exit_code == 0, result.output
    assert seen["settings"] == MapSettings(reference="motion", motion_window=13, occlusion=False)
    bad = CliRunner().invoke(probe, ["--motion-window", "4"])
    assert bad.exit_code != 0 and "motion_window must be a positive odd number" in bad.output
