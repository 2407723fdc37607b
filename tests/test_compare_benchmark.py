"""benchmarks/explain_cost.py runs and prints one JSON object keyed by method (no timing thresholds)."""
from __future__ import annotations

import json

from _bench_script import load_benchmark


def test_json_output_is_keyed_by_method(capsys) -> None:
    bench = load_benchmark("explain_cost")
    code = bench.main(["--methods", "se,gradcam,eigencam", "--batch", "2", "--size", "32", "--repeats", "2",
                       "--warmup", "0", "--threads", "1", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["forward", "se", "gradcam", "eigencam"]
    assert result["forward"]["ratio_to_forward"] == 1.0
    assert all(row["seconds"] > 0 and row["ratio_to_forward"] > 0 for row in result.values())


def test_check_reports_missed_targets() -> None:
    bench = load_benchmark("explain_cost")
    fine = {"forward": {"seconds": 1.0, "ratio_to_forward": 1.0}, "se": {"seconds": 1.05, "ratio_to_forward": 1.05},
            "gradcam": {"seconds": 3.0, "ratio_to_forward": 3.0}, "fullgrad": {"seconds": 12, "ratio_to_forward": 12}}
    assert bench.check(fine) == []
    slow_se = {**fine, "se": {"seconds": 1.3, "ratio_to_forward": 1.3}}
    missed = bench.check(slow_se)
    assert missed[0].startswith("se costs 1.300 x forward") and any("fullgrad is 9.23 x se" in m for m in missed)
