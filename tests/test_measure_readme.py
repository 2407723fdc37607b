"""The README's measured block: the worst seed of each claim, written between the markers only."""
from __future__ import annotations

from asd_explain.measure.report_readme import BEGIN, END, claim_lines, update_readme


def _stats(**values):
    return {k: {"min": min(v), "median": sorted(v)[len(v) // 2], "max": max(v), "n": len(v),
                "values": {str(seed): x for seed, x in enumerate(v)}} for k, v in values.items()}


SUMMARY = {"recipes": [{"config": "configs/train_synth_maps.yaml", "rows": [
    {"target_steps": 650, "checkpoint": "last", "seeds": [0, 1, 2], "stats": _stats(val_ap=[0.5, 0.6, 0.7])},
    {"target_steps": 2600, "checkpoint": "best", "seeds": [0, 1],
     "stats": _stats(val_ap=[0.999, 0.998], **{"mouth_pointing:motion": [0.9, 0.42],
                                               "ap_drop:face": [0.3, 0.06], "audio_tf_own:motion": [2.1, 2.4],
                                               "audio_tf_own:paper": [1.998, 2.5],
                                               "audio_tf_own_voices_map:motion": [2.3104, 2.3149]})},
    {"target_steps": 2600, "checkpoint": "last", "seeds": [], "stats": {}},
    {"target_steps": 2600, "checkpoint": "last", "seeds": [0], "stats": _stats(steps=[2600])},
]}]}


def test_worst_seed_and_targets_at_the_last_point_only():
    lines = claim_lines(SUMMARY, seeds=3)
    assert len(lines) == 3  # the 650-step row is not quoted
    best, last, unchecked = lines
    assert unchecked.endswith("at the 2600-step budget: trained on 1 seed, not checked yet")
    assert "`best.pt` at the 2600-step budget, worst of 2 seeds (2 of 3 measured so far)" in best
    assert "val AP 0.9980" in best
    assert "mouth pointing (motion settings) 42.0% (target >= 85.0%: not met; met on 1 of 2 seeds)" in best
    assert "AP lost with the faces blanked 0.060 (target >= 0.050: met)" in best
    assert ("audio attention in the own voice (speaking reference) 2.100x (target >= 2.000x: met) (the map of "
            "every on-screen voice at the audio map's size scores 2.310x-2.315x);") in best
    assert "(the paper's settings) 1.998x" in best  # not rounded up to 2.00
    assert last.endswith("not measured yet")
    one = {"recipes": [{**SUMMARY["recipes"][0], "rows": [
        {"target_steps": 2600, "checkpoint": "best", "seeds": [0], "stats": _stats(**{"ap_drop:face": [0.03]})}]}]}
    assert "AP lost with the faces blanked 0.030 (target >= 0.050: not met)." in claim_lines(one, seeds=3)[0]
    other = {"recipes": [{**SUMMARY["recipes"][0], "config": "configs/train_synth.yaml"}]}
    quoted = claim_lines(other, seeds=3)[0]
    assert "mouth pointing (motion settings) 42.0%;" in quoted and "target" not in quoted  # no verdicts there


def test_only_the_block_is_rewritten(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nintro\n{BEGIN}\nold numbers\n{END}\n\nrest\n")
    assert update_readme(readme, SUMMARY, 3, "2026-12-05 01:00 UTC")
    text = readme.read_text()
    assert text.startswith("# title\n\nintro\n" + BEGIN + "\nMeasured 2026-12-05 01:00 UTC")
    assert text.endswith(f"{END}\n\nrest\n")
    assert "old numbers" not in text and "42.0%" in text
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no block\n")
    assert not update_readme(plain, SUMMARY, 3, "now") and plain.read_text() == "no block\n"


def _real_result():
    """What benchmarks/pretrained_real.py prints, built by its own add_compare from a known compare summary."""
    from _bench_script import load_benchmark

    script = load_benchmark("pretrained_real")

    def row(modality, method, ins, ms, lips=None):
        r = {"modality": modality, "method": method, "insertion_auc": ins, "deletion_auc": 0.5, "ms_per_clip": ms}
        if lips is not None:
            r.update(lips_pct=lips, mouth_pct=97.5, centre_lips_pct=49.7, centre_mouth_pct=100.0, mouth_frames=199)
        return r

    out = {"models": ["light-asd", "lr-asd"], "settings": {"distill_steps": 80, "checkpoint": "best"},
           **{k: {} for k in ("pointing", "insertion", "deletion", "ms_per_clip", "time_over_se", "insertion_gap")}}
    script.add_compare(out, "light-asd", [
        row("face", "se", 0.755, 500.0, 93.0), row("face", "gradcam", 0.728, 2100.0, 36.2),
        row("face", "gradcam++", 0.754, 1800.0, 81.9), row("face", "fullgrad", 0.757, 5000.0, 50.8),
        row("audio", "se", 0.678, 500.0), row("audio", "gradcam", 0.658, 1850.0),
        row("audio", "gradcam++", 0.679, 1700.0)])
    script.add_compare(out, "lr-asd", [
        row("face", "se", 0.904, 400.0, 62.3), row("face", "gradcam", 0.877, 1600.0, 18.1),
        row("audio", "se", 0.754, 400.0), row("audio", "gradcam", 0.710, 1500.0)])
    return out


def test_real_footage_line_from_the_benchmark_json():
    from asd_explain.measure.report_readme import real_footage_line

    summary = {**SUMMARY, "benchmarks": [{"name": "pretrained_real", "unit": {"wall_s": 3600.0},
                                          "result": _real_result()}]}
    assert real_footage_line(summary) == (
        "- Real footage (`python benchmarks/pretrained_real.py`, one run: the published models with SE gates "
        "distilled by `asd-explain distill`, on two real talking heads, 80 distillation steps, `best.pt`, 199 "
        "labelled speaking frames): Light-ASD's SE face map peaks in the lip box on 93.0% of speaking frames "
        "(GradCAM 36.2%, GradCAM++ 81.9%, the crop centre 49.7%), SE's insertion minus the best grad-cam method's "
        "-0.002 on the face (FullGrad) and -0.001 on the audio (GradCAM++), GradCAM takes 4.20x (face) / 3.70x "
        "(audio) SE's time; LR-ASD's SE face map peaks in the lip box on 62.3% of speaking frames (GradCAM 18.1%, "
        "the crop centre 49.7%), SE's insertion minus the best grad-cam method's +0.027 on the face (GradCAM) and "
        "+0.044 on the audio (GradCAM), GradCAM takes 4.00x (face) / 3.75x (audio) SE's time.")


def test_real_footage_line_before_the_unit_ran(tmp_path):
    from asd_explain.measure.report_readme import real_footage_line

    assert real_footage_line(SUMMARY).endswith("two real talking heads): not measured yet")
    skipped = {"benchmarks": [{"name": "pretrained_real", "unit": {"skipped": "../shared is absent"}}]}
    assert real_footage_line(skipped).endswith("not measured yet (skipped: ../shared is absent)")
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\n{END}\n")
    update_readme(readme, SUMMARY, 3, "now")
    assert readme.read_text().splitlines()[-2].endswith("not measured yet")


def test_verdict_once_every_seed_of_both_checkpoints_is_measured():
    full = {"mouth_pointing:motion": [0.9, 0.86], "ap_drop:face": [0.3, 0.04], "audio_tf_own:motion": [2.1, 2.4]}
    rows = [{"target_steps": 2600, "checkpoint": "best", "seeds": [0, 1], "stats": _stats(**full)},
            {"target_steps": 2600, "checkpoint": "last", "seeds": [0, 1],
             "stats": _stats(**{**full, "audio_tf_own:motion": [1.9, 2.4]})}]
    summary = {"recipes": [{"config": "configs/train_synth_maps.yaml", "rows": rows}]}
    verdict = claim_lines(summary, seeds=2)[-1]
    assert verdict == ("- In short, `configs/train_synth_maps.yaml` on the worst of 2 seeds, `best.pt` and "
                       "`last.pt`: holds: mouth pointing (motion settings); does not hold: AP lost with the faces "
                       "blanked (`best.pt`, `last.pt`); audio attention in the own voice (speaking reference) "
                       "(`last.pt`).")
    assert not any("In short" in line for line in claim_lines(summary, seeds=3))  # a seed still missing
    other = {"recipes": [{"config": "configs/train_synth.yaml", "rows": rows}]}
    assert not any("In short" in line for line in claim_lines(other, seeds=2))  # no verdict on the 7x7 recipe
