"""Analysis statistics on known data: normality tests, kept channels, paired comparison, attention summary."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from asd_explain.analysis.attention import attention_conclusions, category_ap, category_row
from asd_explain.analysis.av_pass import fusion_kept_shares, visual_energy
from asd_explain.analysis.config import AnalysisConfig, configure
from asd_explain.analysis.paired import compare_to_reference, paired_values
from asd_explain.analysis.se_stats import (
    describe_vectors,
    exact_top_count,
    kept_channel_counts,
    kept_summary,
    per_vector_tests,
    pooled_tests,
    se_conclusions,
    standardise,
    tail_shares,
)
from asd_explain.metrics.ava_ap import average_precision

CFG = AnalysisConfig(bootstrap=500)


def test_normal_vectors_pass_and_uniform_vectors_fail() -> None:
    rng = np.random.default_rng(0)
    normal, uniform = rng.normal(size=(200, 256)), rng.uniform(size=(200, 256))
    ok = per_vector_tests(normal, alpha=0.05)
    assert ok["shapiro_rejected"] <= 0.10 and ok["k2_rejected"] <= 0.10  # about alpha under the null
    assert abs(ok["excess_kurtosis_mean"]) < 0.1
    bad = per_vector_tests(uniform, alpha=0.05)
    assert bad["shapiro_rejected"] > 0.9 and bad["k2_rejected"] > 0.9
    assert bad["excess_kurtosis_mean"] == pytest.approx(-1.2, abs=0.1)  # the uniform's excess kurtosis
    assert pooled_tests(standardise(normal), 5000, seed=0)["shapiro_p"] > 0.05
    pooled_uniform = pooled_tests(standardise(uniform), 5000, seed=0)
    assert pooled_uniform["shapiro_p"] < 1e-10 and pooled_uniform["k2_p"] < 1e-10 and pooled_uniform["n"] == 5000


def test_tail_shares_of_normal_values_match_the_normal_tail() -> None:
    values = standardise(np.random.default_rng(1).normal(size=(400, 256)))
    tails = tail_shares(values, (0.674, 1.282, 1.645))
    assert tails["1.282"]["normal"] == pytest.approx(0.0999, abs=1e-4)
    for z in ("0.674", "1.282", "1.645"):
        assert tails[z]["observed"] == pytest.approx(tails[z]["normal"], abs=0.01)


def test_kept_channels_on_known_vectors() -> None:
    # 1..20: mean 10.5, population std 5.766; 10.5 + 1.282 * 5.766 = 17.89 keeps 18, 19, 20
    ramp = np.arange(1, 21, dtype=np.float64)[None]
    assert kept_channel_counts(ramp, z=1.282).tolist() == [3]
    assert kept_channel_counts(ramp, z=1.645).tolist() == [1]      # 19.99: only 20
    assert kept_channel_counts(ramp, z=0.674).tolist() == [6]      # 14.39: 15..20
    assert kept_channel_counts(ramp, top_percent=10).tolist() == [2]
    assert exact_top_count(20, 10) == 2 and exact_top_count(128, 10) == 13 and exact_top_count(512, 10) == 52
    spike = np.array([[0.0] * 18 + [1.0, 1.0]])                    # mean 0.1, std 0.3: threshold 0.485
    assert kept_channel_counts(spike, z=1.282).tolist() == [2]
    flat = np.full((1, 20), 0.5)                                    # nothing above: the largest is kept
    assert kept_channel_counts(flat, z=1.282).tolist() == [1]
    summary = kept_summary(np.vstack([ramp, spike]), (1.282,))["1.282"]
    assert summary["mean"] == 2.5 and summary["exact_top_k"] == 2
    assert summary["above_exact"] == 0.5 and summary["equal_exact"] == 0.5 and summary["below_exact"] == 0.0


def test_constant_vectors_are_reported_not_tested() -> None:
    stats = describe_vectors(np.full((10, 32), 0.5), CFG)
    assert stats["per_vector"]["constant_vectors"] == 10 and stats["per_vector"]["shapiro_rejected"] is None
    assert stats["pooled_standardised"] is None and stats["qq"] is None
    assert stats["kept"]["1.282"]["mean"] == 1.0
    assert "constant" in se_conclusions({"x:audio": stats}, 0.05)[0]


def test_paired_comparison_finds_a_real_difference_and_no_fake_one() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.2, 0.6, size=30)
    rows = []
    for unit, value in enumerate(base):
        rows += [{"setting": "ref", "unit": unit, "auc": value},
                 {"setting": "plus", "unit": unit, "auc": value + 0.1 + rng.normal(0, 0.01)},
                 {"setting": "same", "unit": unit, "auc": value + rng.normal(0, 0.01)}]
    values = paired_values(rows, ["ref", "plus", "same"], "auc")
    result = {r["setting"]: r for r in compare_to_reference(values, "ref", True, resamples=500, seed=0)}
    assert result["plus"]["diff_vs_reference"] == pytest.approx(0.1, abs=0.01)
    assert result["plus"]["significantly_better"] and result["plus"]["rank"] == 1
    assert result["plus"]["ci_low"] > 0.09 and result["plus"]["wilcoxon_p"] < 1e-6
    assert not result["same"]["significantly_better"] and not result["same"]["significantly_worse"]
    assert result["ref"]["diff_vs_reference"] == 0.0 and result["ref"]["wilcoxon_p"] is None


def test_ratio_metrics_pool_numerators_and_denominators() -> None:
    rows = [{"setting": "a", "unit": 0, "hits": 3, "frames": 4}, {"setting": "a", "unit": 1, "hits": 0, "frames": 1},
            {"setting": "b", "unit": 0, "hits": 1, "frames": 4}, {"setting": "b", "unit": 1, "hits": 1, "frames": 1},
            {"setting": "a", "unit": 2, "hits": 0, "frames": 0}, {"setting": "b", "unit": 2, "hits": 0, "frames": 0}]
    result = {r["setting"]: r for r in compare_to_reference(paired_values(rows, ["a", "b"], "hits", "frames"), "a",
                                                            True, resamples=50, seed=0)}
    assert result["a"]["mean"] == pytest.approx(3 / 5) and result["b"]["mean"] == pytest.approx(2 / 5)
    assert result["a"]["units"] == 2  # the unit without frames carries nothing
    assert not result["b"]["significantly_worse"]  # 2 units: no verdict


def test_visual_energy_and_fusion_kept_shares_by_hand() -> None:
    scaled = torch.zeros(1, 4, 2, 2, 2)
    scaled[0, 3] = 2.0  # channel 3 is the only one above the threshold of s below
    scaled[0, 0] = 10.0
    s = torch.tensor([[0.1, 0.1, 0.1, 0.9]]).unsqueeze(-1).expand(1, 4, 2).contiguous()  # per frame (B, C, T)
    assert torch.allclose(visual_energy({"scaled": scaled, "excitation": s}), torch.full((1, 2), 2.0))
    excitation = torch.tensor([[0.1, 0.1, 0.9, 0.1, 0.9, 0.9]])  # 3 modalities x 2 channels, kept: 2, 4, 5
    shares = fusion_kept_shares(excitation, ("audio", "face", "body"), z=0.5)
    assert [float(shares[m]) for m in ("audio", "face", "body")] == pytest.approx([0.0, 1 / 3, 2 / 3])


def _frames() -> pd.DataFrame:
    rows = []
    for video, category, face_share in (("v1", "OC", 0.5), ("v2", "FO", 0.2)):
        for t in range(6):
            speaking = t % 2
            rows.append({"video_id": video, "frame_timestamp": t / 25, "entity_box_x1": 0.1, "entity_box_y1": 0.1,
                         "entity_box_x2": 0.3, "entity_box_y2": 0.4,
                         "label": "SPEAKING_AUDIBLE" if speaking else "NOT_SPEAKING", "entity_id": f"{video}_0_1:1",
                         "category": category, "label_id": speaking, "score": 0.2 + 0.1 * t,
                         "share_audio": 0.3, "share_face": face_share, "share_body": 0.7 - face_share,
                         "face_energy": 3.0 if category == "OC" else 1.0, "body_energy": 1.0,
                         "mouth_hit": float(t == 5), "mouth_area": 0.05})
    return pd.DataFrame(rows)


def test_attention_table_and_conclusions_from_known_frames(tmp_path) -> None:
    frames = _frames()
    aps = category_ap(frames, tmp_path)
    for category in ("OC", "FO"):
        part = frames[frames["category"] == category]
        assert aps[category]["ap"] == pytest.approx(average_precision(part["score"].to_numpy(),
                                                                      part["label_id"].to_numpy() == 1))
    assert (tmp_path / "ground_truth.csv").is_file() and (tmp_path / "predictions.csv").is_file()
    cfg = configure(speaking_threshold=0.5)
    oc = category_row("OC", frames[frames["category"] == "OC"], aps["OC"], cfg)
    fo = category_row("FO", frames[frames["category"] == "FO"], aps["FO"], cfg)
    overall = category_row("all", frames, aps["all"], cfg)
    assert oc["share_face_mean"] == pytest.approx(0.5) and oc["dominant_face"] == 1.0
    assert fo["dominant_body"] == 1.0 and fo["face_energy_share_mean"] == pytest.approx(0.5)
    assert oc["face_energy_share_mean"] == pytest.approx(0.75)
    # correct speaking frames: t = 3, 5 (scores 0.5, 0.7); the mouth is hit at t = 5 only
    assert oc["correct_speaking_frames"] == 2 and oc["mouth_pointing"] == pytest.approx(0.5)
    assert oc["mouth_pointing_speaking"] == pytest.approx(1 / 3)  # speaking frames t = 1, 3, 5
    text = " ".join(attention_conclusions([oc, fo, overall]))
    assert "face share is highest in OC (50.0%) and lowest in FO (20.0%)" in text
    assert "Face outweighs body in 1 of 2 categories (OC)" in text
    assert "above half in 1 of 2 categories (OC)" in text


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="interpolations: unknown mode 'area'"):
        AnalysisConfig(interpolations=("area", "bicubic"))
    with pytest.raises(ValueError, match="z_values must include 1.282"):
        AnalysisConfig(z_values=(1.0,))
    small = configure(small_sizes=True, seed=3, max_tracks=None)
    assert small.seed == 3 and small.max_tracks == 6 and small.ablation_images == 4


def test_ablation_settings_and_answers_name_the_winner() -> None:
    from asd_explain.analysis.ablation import REFERENCE, ablation_settings
    from asd_explain.analysis.ablation_summary import ablation_answers, summarise_ablation

    settings = ablation_settings(CFG)
    assert [s.name for s in settings] == ["z=0.674/bicubic", "z=1.282/bicubic", "z=1.645/bicubic", "top10%/bicubic",
                                          "z=1.282/nearest", "z=1.282/bilinear"]
    assert settings[1].name == REFERENCE and settings[1].groups == ("threshold", "interpolation")
    rng = np.random.default_rng(3)
    rows = []
    for unit in range(40):  # nearest beats bicubic by 0.05 AUC; every threshold equals the reference
        base = rng.uniform(0.3, 0.7)
        for s in settings:
            value = base + (0.05 if s.name == "z=1.282/nearest" else 0.0) + rng.normal(0, 0.002)
            rows.append({"setting": s.name, "unit": unit, "insertion_auc": value})
    table = summarise_ablation(rows, settings, (("insertion_auc", True, None),), "toy:model", CFG)
    answers = ablation_answers(table)
    assert len(answers) == 2  # threshold group, interpolation group
    assert answers[1].startswith("toy:model, interpolation, Insertion AUC (higher is better, 40 units): "
                                 "z=1.282/nearest wins with")
    assert "+0.05" in answers[1] and answers[1].endswith("significant).")
    nearest = next(r for r in table if r["setting"] == "z=1.282/nearest")
    assert nearest["rank"] == 1 and nearest["ci_low"] > 0.04


def test_reference_setting_makes_the_explainers_maps() -> None:
    """The ablation's reference (z=1.282, bicubic) is exactly what the SE explainers give."""
    from _analysis_data import SMALL_AV

    from asd_explain.analysis.ablation import REFERENCE, ablation_settings, se_forward
    from asd_explain.explain.av import explain_av_batch
    from asd_explain.explain.se_explainer import SEExplainer
    from asd_explain.image.models import build_classifier
    from asd_explain.models import ModelConfig
    from asd_explain.models.asd_model import ASDModel

    reference = next(s for s in ablation_settings(CFG) if s.name == REFERENCE)
    model = build_classifier("resnet18", 6).eval()
    images = torch.randn(2, 3, 64, 64)
    _, scaled, excitation = se_forward(model, images)
    assert torch.equal(reference.maps(scaled, excitation, (64, 64)), SEExplainer(model).explain(images).maps)
    av = ASDModel(ModelConfig(**SMALL_AV)).eval()
    batch = {"face": torch.randn(1, 6, 1, 48, 48), "body": torch.randn(1, 6, 1, 48, 48),
             "audio": torch.randn(1, 24, 40), "label_mask": torch.ones(1, 6, dtype=torch.bool)}
    out = av.explain_forward(batch)
    face = reference.maps(out["se"]["face"]["scaled"], out["se"]["face"]["excitation"], (48, 48), "frame")
    expected = explain_av_batch(av, batch)[0].face_maps
    assert np.allclose(face[0].numpy(), expected, atol=1e-6)
