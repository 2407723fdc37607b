"""The two analysis notebooks run (nbclient, tiny settings) and give the same numbers as ``asd-explain analyze``."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from _analysis_data import make_av_checkpoint, make_corpus_and_store, make_image_checkpoint
from click.testing import CliRunner
from nbclient import NotebookClient

from asd_explain.cli.analyze import command as analyze_command

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
CELL_TIMEOUT_S = 180  # the bound for a whole notebook on tiny settings, used as a per-cell guard


def test_committed_notebooks_have_no_outputs() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["face_vs_body_attention.ipynb", "se_statistics.ipynb"]
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert "parameters" in notebook.cells[0].metadata.get("tags", []), path.name
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: stale output"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("analysis")
    corpus, store = make_corpus_and_store(root)
    checkpoint = make_av_checkpoint(store, root / "av.pt")
    return {"root": root, "corpus": corpus, "store": store.parent, "checkpoint": checkpoint,
            "image_checkpoint": make_image_checkpoint(root / "image")}


def cli_args(inputs: dict[str, Path], out: Path) -> list[str]:
    return ["--checkpoint", str(inputs["checkpoint"]), "--data", str(inputs["store"]), "--corpus",
            str(inputs["corpus"]), "--image-checkpoint", str(inputs["image_checkpoint"]), "--out", str(out), "--small",
            "--quiet"]


@pytest.fixture(scope="module")
def analyzed(inputs) -> Path:
    out = inputs["root"] / "cli"
    result = CliRunner().invoke(analyze_command, cli_args(inputs, out))
    assert result.exit_code == 0, result.output
    return out


def run_notebook(name: str, inputs: dict[str, Path], out: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    notebook.cells[0].source = "\n".join([
        f"CHECKPOINT = {str(inputs['checkpoint'])!r}", f"STORE = {str(inputs['store'])!r}", 'SPLIT = "val"',
        f"CORPUS = {str(inputs['corpus'])!r}", f"IMAGE_CHECKPOINT = {str(inputs['image_checkpoint'])!r}",
        f"OUT = {str(out)!r}", "SMALL = True", "SEED = 0", "THREADS = 2", "MAX_TRACKS = None"])
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(inputs["root"])}}).execute()
    return notebook


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _text_outputs(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.slow
def test_attention_notebook_runs_and_matches_analyze(inputs, analyzed) -> None:
    out = inputs["root"] / "nb_attention"
    notebook = run_notebook("face_vs_body_attention", inputs, out)
    assert _json(out / "attention" / "attention.json") == _json(analyzed / "attention" / "attention.json")
    payload = _json(out / "attention" / "attention.json")
    categories = [row["category"] for row in payload["per_category"]]
    assert categories == ["OC", "SI", "FO", "HVN", "SS", "all"]
    assert all(line in _text_outputs(notebook) for line in payload["conclusions"])
    assert len(list((out / "attention" / "examples").glob("*.png"))) == 2  # max_examples of the small settings
    assert "image/png" in json.dumps([c.get("outputs") for c in notebook.cells])


@pytest.mark.slow
def test_se_statistics_notebook_runs_and_matches_analyze(inputs, analyzed) -> None:
    out = inputs["root"] / "nb_se"
    notebook = run_notebook("se_statistics", inputs, out)
    for part, name in (("se_stats", "se_stats.json"), ("ablation", "ablation.json")):
        assert _json(out / part / name) == _json(analyzed / part / name), name
    stats = _json(out / "se_stats" / "se_stats.json")["sources"]
    assert list(stats) == ["shapes:mobilenet_v3_small", "wasd:face", "wasd:body", "wasd:audio", "wasd:fusion"]
    assert stats["shapes:mobilenet_v3_small"]["channels"] == 576 and stats["wasd:fusion"]["channels"] == 96
    ablation = _json(out / "ablation" / "ablation.json")
    settings = {row["setting"] for row in ablation["summary"]}
    assert settings == {"z=0.674/bicubic", "z=1.282/bicubic", "z=1.645/bicubic", "top10%/bicubic",
                        "z=1.282/nearest", "z=1.282/bilinear"}
    assert all(line in _text_outputs(notebook) for line in ablation["answers"])


@pytest.mark.slow
def test_analyze_scores_and_ap_are_the_official_evaluation(inputs, analyzed, tmp_path) -> None:
    import pandas as pd

    from asd_explain.metrics.ava_ap import average_precision
    from asd_explain.train.evaluate import evaluate_checkpoint

    payload = _json(analyzed / "attention" / "attention.json")
    assert payload["info"]["tracks"] == 6  # small settings: 6 tracks spread over the store
    frames = pd.read_csv(analyzed / "attention" / "frames.csv")
    evaluation = evaluate_checkpoint(inputs["checkpoint"], inputs["store"], tmp_path, split="val", chunk_frames=64,
                                     progress=False)
    from asd_explain.metrics.ava_scoring import read_ava_csv

    predicted = read_ava_csv(evaluation.predictions_csv, predictions=True).astype({"entity_id": str})
    same = frames.merge(predicted, on=["entity_id", "frame_timestamp"], how="left", suffixes=("", "_eval"))
    assert len(same) == len(frames) == payload["info"]["frames"]
    assert (same["score"] - same["score_eval"]).abs().max() < 1e-5  # the same model, the same chunks
    expected = average_precision(same["score"].to_numpy(), same["label"].to_numpy() == "SPEAKING_AUDIBLE")
    overall = payload["per_category"][-1]
    assert overall["category"] == "all" and overall["ap"] == pytest.approx(expected, abs=1e-12)
    for name in ("analysis_config.yaml", "attention/per_category.md", "se_stats/normality.md", "se_stats/qq.png",
                 "se_stats/kept_channels.md", "ablation/ablation.md", "ablation/per_unit.csv"):
        assert (analyzed / name).stat().st_size > 0, name


@pytest.mark.slow
def test_analyze_resumes_finished_parts(inputs, analyzed) -> None:
    files = {p: analyzed / p / f"{p}.json" for p in ("attention", "se_stats", "ablation")}
    before = {p: f.stat().st_mtime_ns for p, f in files.items()}
    result = CliRunner().invoke(analyze_command, cli_args(inputs, analyzed))
    assert result.exit_code == 0, result.output
    assert {p: f.stat().st_mtime_ns for p, f in files.items()} == before  # nothing recomputed
    first = json.loads(files["attention"].read_text())
    assert f"  - {first['conclusions'][0]}" in result.output
    result = CliRunner().invoke(analyze_command, cli_args(inputs, analyzed) + ["--parts", "attention", "--no-resume"])
    assert result.exit_code == 0, result.output
    assert files["attention"].stat().st_mtime_ns != before["attention"]
    assert json.loads(files["attention"].read_text()) == first  # recomputed: the same numbers


def test_analyze_errors_are_one_line(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(analyze_command, ["--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "nothing to analyse" in result.output
    result = runner.invoke(analyze_command, ["--checkpoint", str(tmp_path / "missing.pt"), "--data", str(tmp_path),
                                             "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "missing.pt: checkpoint file not found" in result.output
    result = runner.invoke(analyze_command, ["--image-checkpoint", "x.pt", "--parts", "attention,nope",
                                             "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "unknown analysis part 'nope'" in result.output
