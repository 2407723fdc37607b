"""The README's measured block: the worst seed of each claim, written between the markers only."""
from __future__ import annotations

from asd_explain.measure.report_readme import BEGIN, END, claim_lines, update_readme


def _stats(**values):
    return {k: {"min": min(v), "median": sorted(v)[len(v) // 2], "max": max(v), "n": len(v)} for k, v in values.items()}


SUMMARY = {"recipes": [{"config": "configs/train_synth_maps.yaml", "rows": [
    {"target_steps": 650, "checkpoint": "last", "seeds": [0, 1, 2], "stats": _stats(val_ap=[0.5, 0.6, 0.7])},
    {"target_steps": 2600, "checkpoint": "best", "seeds": [0, 1],
     "stats": _stats(val_ap=[0.999, 0.998], **{"mouth_pointing:motion": [0.9, 0.42],
                                               "ap_drop:face": [0.3, 0.06], "audio_tf_own:motion": [2.1, 2.4],
                                               "audio_tf_own:paper": [1.998, 2.5]})},
    {"target_steps": 2600, "checkpoint": "last", "seeds": [], "stats": {}},
]}]}


def test_worst_seed_and_targets_at_the_last_point_only():
    lines = claim_lines(SUMMARY, seeds=3)
    assert len(lines) == 2  # the 650-step row is not quoted
    best, last = lines
    assert "`best.pt` at the 2600-step budget, worst of 2 seeds (2 of 3 measured so far)" in best
    assert "val AP 0.9980" in best and "mouth pointing (motion settings) 42.0% (target >= 85.0%: not met)" in best
    assert "AP lost with the faces blanked 0.060 (target >= 0.050: met)" in best
    assert "audio attention in the own voice (speaking reference) 2.100x (target >= 2.000x: met)" in best
    assert "(the paper's settings) 1.998x" in best  # not rounded up to 2.00
    assert last.endswith("not measured yet")
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
