"""``asd-explain measure`` end to end on tiny corpora and a tiny step budget: it runs, its report equals the
runs it aggregated, a rerun does nothing new, a killed run resumes; and training resumed with a larger
``max_steps`` continues the same trajectory (the step budget is a stated condition)."""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from asd_explain.cli.measure import command as measure_command
from asd_explain.measure import over_seeds, step_points
from asd_explain.measure.plan import Corpus, MeasureConfig, step_budget
from asd_explain.measure.runner import RunLog, prepare_data
from asd_explain.train.checkpoint import load_checkpoint
from asd_explain.train.recipe import load_train_config, parse_overrides, train_on_store

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "train_synth.yaml"
SMALL = ["model.visual_widths=[8,8,16,32]", "model.audio_widths=[8,8,16,32]", "model.embed_dim=32",
         "model.temporal_hidden=16", "data.num_workers=0", "data.batch_frames=128", "checkpoint_every_steps=1"]


def test_step_points_and_stats_over_seeds():
    assert step_points(1100, (0.25, 0.5, 1.0)) == [275, 550, 1100]
    assert step_points(1100, (0.25, 0.5, 1.0), 0.1) == [28, 55, 110]
    assert step_points(4, (0.1, 0.25, 1.0)) == [1, 4]  # at least one step, no duplicates
    stats = over_seeds({0: {"a": 0.5, "b": float("nan")}, 1: {"a": 0.1}, 2: {"a": 0.9, "b": 2.0}})
    assert stats["a"]["min"] == 0.1 and stats["a"]["median"] == 0.5 and stats["a"]["max"] == 0.9
    assert stats["b"] == {"min": 2.0, "median": 2.0, "max": 2.0, "n": 1, "values": {"2": 2.0}}
    assert step_budget("train_synth") == 1100 and step_budget("train_synth_maps") == 2600


def measure_args(root: Path, seeds: str) -> list[str]:
    scale = 4 / step_budget(str(RECIPE))  # a budget of 4 steps (points at 2 and 4 steps: the resume test below)
    args = ["--recipes", str(RECIPE), "--seeds", seeds, "--fractions", "1", "--budget-scale", repr(scale),
            "--videos", "2,2", "--seconds", "2", "--size", "320x180", "--settings", "paper",
            "--data", str(root / "data"), "--out", str(root / "runs"), "--docs", str(root / "docs"), "--quiet",
            "--benchmarks", "none", "--no-compare", "--readme", str(root / "README.md")]
    for item in SMALL:
        args += ["--set", item]
    return args


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A root with the tiny corpora and stores, made as the measure command makes them."""
    root = tmp_path_factory.mktemp("measure")
    cfg = MeasureConfig(corpus=Corpus(train_videos=2, val_videos=2, seconds=2, size="320x180"),
                        data=str(root / "data"), out=str(root / "runs"), quiet=True)
    prepare_data(cfg, RunLog(), lambda line: None)
    return root


@pytest.fixture(scope="module")
def measured(tiny_data):
    root = tiny_data
    result = CliRunner().invoke(measure_command, measure_args(root, "0,1"))
    assert result.exit_code == 0, result.output
    return root, result.output


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.slow
def test_report_equals_the_runs_it_aggregated(measured):
    root, output = measured
    report = _json(root / "docs" / "measured.json")
    md = (root / "docs" / "measured.md").read_text()
    assert "0 failed" in output and "asd-explain train --config" in md and "| row |" in md
    (recipe,) = report["recipes"]
    assert recipe["recipe"] == "train_synth" and [r["target_steps"] for r in recipe["rows"]] == [4, 4]
    for row in recipe["rows"]:
        assert row["seeds"] == [0, 1] and row["missing_seeds"] == []
        per_seed = {}
        for seed in (0, 1):
            base = root / "runs" / "train_synth" / f"seed{seed}" / f"step{row['target_steps']}"
            kind = row["checkpoint"]
            metrics = _json(base / kind / "evaluate" / "metrics.json")
            evidence = _json(base / kind / "evidence-paper" / "evidence.json")
            occlusion = _json(base / kind / "occlusion" / "occlusion.json")
            train = _json(base / "train.json")
            ckpt = load_checkpoint(base / f"{kind}.pt")
            assert ckpt["progress"]["step"] == (train["best_step"] if kind == "best" else row["target_steps"])
            per_seed[seed] = {"val_ap": metrics["map_percent"] / 100, "ap_drop:face": occlusion["ap_drop"]["face"],
                              "face_share_blanked": evidence["summary"]["face_blanking"]["face_share_blanked"],
                              "steps": ckpt["progress"]["step"]}
            assert abs(occlusion["val_ap"] - metrics["ap"]) < 1e-6  # the same frames, the same scores
        for key in per_seed[0]:
            values = [per_seed[s][key] for s in (0, 1)]
            stats = row["stats"][key]
            assert stats["min"] == pytest.approx(min(values)) and stats["max"] == pytest.approx(max(values))
            assert stats["median"] == pytest.approx(statistics.median(values)) and stats["n"] == 2
        assert any(c.startswith("asd-explain explain-evidence --checkpoint") for c in row["commands"]["0"])
        assert row["machine"]["0"]["train"]["cpu_count"] == os.cpu_count()


@pytest.mark.slow
def test_rerun_does_nothing_new_and_a_killed_run_resumes(measured):
    root, _ = measured
    again = CliRunner().invoke(measure_command, measure_args(root, "0,1"))
    assert again.exit_code == 0 and "[measure] 0 units run" in again.output, again.output

    # a third seed, killed (with its children) once its training has written a checkpoint, then resumed
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "asd_explain.cli.main", "measure", *measure_args(root, "0,1,2")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    last = root / "runs" / "train_synth" / "seed2" / "train" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = CliRunner().invoke(measure_command, measure_args(root, "0,1,2"))
    assert resumed.exit_code == 0, resumed.output
    report = _json(root / "docs" / "measured.json")
    assert all(row["seeds"] == [0, 1, 2] for row in report["recipes"][0]["rows"])
    assert "seed 0" not in "".join(line for line in resumed.output.splitlines() if "train to" in line)
    assert not list((root / "runs").rglob("*.tmp"))


@pytest.mark.slow
def test_resuming_to_a_larger_step_budget_gives_the_same_weights(tiny_data, tmp_path):
    """4 steps at once vs 2 steps then resumed to 4 (modality dropout, both gate losses, validation at the
    first stop): identical weights, since the LR decays per epoch, the batches are a function of (seed, epoch) and
    neither loading nor validating draws from the RNG of the model's dropout."""
    root = tiny_data

    def run(name: str, steps: int):
        overrides = parse_overrides(SMALL + [f"data.store={root / 'data' / 'synth_store'}",
                                             f"run_dir={tmp_path / name}", f"optim.max_steps={steps}",
                                             "optim.max_time_s=0", "progress=false"])
        return train_on_store(load_train_config(RECIPE, overrides=overrides))

    straight = run("a", 4)
    assert run("b", 2).progress.step == 2
    resumed = run("b", 4)
    assert straight.progress.step == resumed.progress.step == 4
    a = load_checkpoint(straight.last_checkpoint)["model_state"]
    b = load_checkpoint(resumed.last_checkpoint)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_edited_recipe_never_resumes_a_run_made_with_the_old_one(tmp_path):
    from asd_explain.measure.runner import check_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  max_steps: 10\n")
    cfg = MeasureConfig(recipes=(str(recipe),), seeds=(0,), out=str(tmp_path / "runs"), overrides=("seed=0",))
    check_recipe(cfg, str(recipe), 0)
    stamp = json.loads((tmp_path / "runs" / "r" / "seed0" / "recipe.json").read_text())
    assert stamp["overrides"] == ["seed=0"] and len(stamp["sha256"]) == 64
    check_recipe(cfg, str(recipe), 0)  # the same recipe resumes
    with pytest.raises(ValueError, match=r"seed0: trained with other settings than .*r\.yaml \(other --set overr"):
        check_recipe(MeasureConfig(recipes=(str(recipe),), out=cfg.out), str(recipe), 0)  # other overrides
    recipe.write_text("optim:\n  max_steps: 10\n  lr: 0.002\nshare_floor: 0.2\n")
    with pytest.raises(ValueError, match=r"\(optim\.lr: '\(unset\)' in the run, 0\.002 in the recipe; share_floor: "
                                         r"'\(unset\)' in the run, 0\.2 in the recipe; recipe\.json\); move the fold"):
        check_recipe(cfg, str(recipe), 0)


def test_a_changed_step_budget_resumes_the_run(tmp_path):
    """The runner sets optim.max_steps / max_time_s for every point, so the budget is not part of what a run
    folder was trained with: lowering or raising it keeps the seed's runs."""
    from asd_explain.measure.runner import check_recipe, recipe_training

    recipe = tmp_path / "r.yaml"
    recipe.write_text("seed: 0\noptim:\n  lr: 0.001\n  max_steps: 2600\n  max_time_s: 3600\n")
    assert recipe_training(recipe) == {"optim.lr": 0.001, "seed": 0}
    cfg = MeasureConfig(recipes=(str(recipe),), seeds=(0,), out=str(tmp_path / "runs"))
    check_recipe(cfg, str(recipe), 0)
    recipe.write_text("seed: 0\noptim: {lr: 0.001, max_steps: 1300}\n")
    check_recipe(cfg, str(recipe), 0)
    recipe.write_text("seed: 0\noptim: {lr: 0.001, max_steps: 1300, epochs: 30}\n")
    with pytest.raises(ValueError, match=r"optim\.epochs: '\(unset\)' in the run, 30 in the recipe"):
        check_recipe(cfg, str(recipe), 0)


def test_an_edited_comment_resumes_and_an_old_stamp_is_upgraded(tmp_path):
    import hashlib

    from asd_explain.measure.runner import check_recipe, recipe_settings_sha256

    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  max_steps: 10   # the budget\n")
    cfg = MeasureConfig(recipes=(str(recipe),), seeds=(0,), out=str(tmp_path / "runs"))
    stamp = tmp_path / "runs" / "r" / "seed0" / "recipe.json"
    stamp.parent.mkdir(parents=True)
    # a stamp written before the settings hash: only the bytes' sha256
    stamp.write_text(json.dumps({"recipe": str(recipe), "overrides": [],
                                 "sha256": hashlib.sha256(recipe.read_bytes()).hexdigest()}))
    check_recipe(cfg, str(recipe), 0)
    upgraded = json.loads(stamp.read_text())
    assert len(upgraded["settings_sha256"]) == 64
    recipe.write_text("# the fast recipe\noptim: {max_steps: 10}  # reworded\n")  # same settings, other bytes
    check_recipe(cfg, str(recipe), 0)
    assert json.loads(stamp.read_text())["training"] == {}  # budget only: nothing the training depends on
    recipe.write_text("optim:\n  max_steps: 20   # the budget\n  lr: 0.1\n")
    with pytest.raises(ValueError, match="optim.lr: '\\(unset\\)' in the run, 0.1 in the recipe"):
        check_recipe(cfg, str(recipe), 0)
    old = tmp_path / "runs" / "r" / "seed1" / "recipe.json"  # an old stamp whose bytes differ: refused
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"recipe": str(recipe), "overrides": [], "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="seed1: trained with other settings than .* \\(another version of the rec"):
        check_recipe(cfg, str(recipe), 1)
    # a stamp hashing all the settings (budget included): upgraded when they match, refused when not
    older = tmp_path / "runs" / "r" / "seed2" / "recipe.json"
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"recipe": str(recipe), "overrides": [], "sha256": "0" * 64,
                                 "settings_sha256": recipe_settings_sha256(recipe)}))
    check_recipe(cfg, str(recipe), 2)
    assert json.loads(older.read_text())["training"] == {"optim.lr": 0.1}


@pytest.mark.slow
def test_a_point_below_the_seeds_run_is_trained_afresh(measured, tmp_path):
    """The budget lowered after a seed trained past a new point (4 steps measured, then a point at 2): that point
    is trained from scratch in its own run folder; the seed's run is untouched."""
    import shutil

    from asd_explain.measure.runner import train_point

    root, _ = measured
    out = tmp_path / "runs"
    shutil.copytree(root / "runs" / "train_synth", out / "train_synth")
    recipe = tmp_path / "train_synth.yaml"  # the same recipe with another budget: the stamp accepts it
    recipe.write_text(RECIPE.read_text().replace("max_steps: 1100", "max_steps: 8"))
    cfg = MeasureConfig(recipes=(str(recipe),), seeds=(0,), data=str(root / "data"), out=str(out),
                        overrides=tuple(SMALL), quiet=True)
    seed_last = out / "train_synth" / "seed0" / "train" / "checkpoints" / "last.pt"
    before = load_checkpoint(seed_last)
    log, lines = RunLog(), []
    point = train_point(cfg, str(recipe), 0, 2, log, lines.append)
    assert "afresh in" in lines[0] and "run_dir=" + str(point / "run" / "train") in lines[0]
    record = _json(point / "train.json")
    assert record["trained_afresh"] is True and record["steps"] == 2 and record["target_steps"] == 2
    assert load_checkpoint(point / "last.pt")["progress"]["step"] == 2
    assert not (point / "run" / "train" / "checkpoints").exists()  # copied beside the point, then removed
    after = load_checkpoint(seed_last)
    assert after["progress"]["step"] == before["progress"]["step"] == 4
    assert all(torch.equal(before["model_state"][k], after["model_state"][k]) for k in before["model_state"])
    assert train_point(cfg, str(recipe), 0, 2, log, lines.append) == point and len(lines) == 1  # done: skipped
