"""benchmarks/pretrained_real.py's pieces without ../shared: steps skipped once done, defaults equal the shipped
distill and compare defaults, the share checks counted from known rows."""
from __future__ import annotations

import json
import shlex

import pytest
from _bench_script import load_benchmark


def load():
    return load_benchmark("pretrained_real")


def test_a_finished_step_is_skipped_and_a_changed_one_reruns(tmp_path):
    script = load()
    first = script.run_step(tmp_path, "echo", "python", ["-c", "print('[1, 2]')"], json_out=True)
    assert first["output"] == [1, 2] and not first["skipped"]
    assert json.loads((tmp_path / "steps" / "echo.json").read_text())["command"] == shlex.join(
        ["python", "-c", "print('[1, 2]')"])
    again = script.run_step(tmp_path, "echo", "python", ["-c", "print('[1, 2]')"], json_out=True)
    assert again["skipped"] and again["output"] == [1, 2] and again["wall_s"] == first["wall_s"]
    changed = script.run_step(tmp_path, "echo", "python", ["-c", "print('[3]')"], json_out=True)
    assert changed["output"] == [3] and not changed["skipped"]


def test_a_failed_step_names_its_command_and_records_nothing(tmp_path):
    script = load()
    with pytest.raises(SystemExit, match=r"boom: exit 1: python -c .*\(ValueError: bad clip\)"):
        script.run_step(tmp_path, "boom", "python", ["-c", "raise ValueError('bad clip')"])
    assert not (tmp_path / "steps" / "boom.json").exists()


def test_defaults_are_the_shipped_distill_and_compare_defaults(tmp_path):
    from asd_explain.distill import DistillConfig

    script = load()
    args = script.parse_args(["--work", str(tmp_path)])
    cfg = DistillConfig()
    assert (args.steps, args.clips_per_step) == (cfg.steps, cfg.clips_per_step)
    assert args.models == ["light-asd", "lr-asd"] and args.checkpoint == "best"
    assert args.methods.split(",")[0] == "se" and "gradcam" in args.methods.split(",")
    with pytest.raises(SystemExit):
        script.parse_args(["--work", str(tmp_path), "--methods", "gradcam"])  # every ratio is against se


def test_share_checks_count_the_cases_that_follow_occlusion():
    script = load()
    rows = [{"asked": "auto", "track": "a", "variant": "original", "agrees": None},
            {"asked": "auto", "track": "a", "variant": "silence", "agrees": True},
            {"asked": "auto", "track": "a", "variant": "other_speech", "agrees": False},
            {"asked": "se_mass", "track": "a", "variant": "silence", "agrees": True},
            {"track": "a", "variant": "shares_move", "kind": "se_mass", "moves": False}]
    checks = script.share_checks(rows)
    assert checks["follows_occlusion"] == {"auto": [1, 2], "se_mass": [1, 1]}
    assert checks["moves"] == {"a:se_mass": False} and checks["rows"] == rows


def test_seed_tracks_copies_the_first_runs_tracks_once(tmp_path):
    script = load()
    (tmp_path / "a" / "tracks").mkdir(parents=True)
    (tmp_path / "a" / "tracks" / "v.json").write_text("{}")
    script.seed_tracks(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b" / "tracks" / "v.json").read_text() == "{}"
    (tmp_path / "a" / "tracks" / "v.json").write_text("changed")
    script.seed_tracks(tmp_path / "a", tmp_path / "b")  # present: left as it is
    assert (tmp_path / "b" / "tracks" / "v.json").read_text() == "{}"
