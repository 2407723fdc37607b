"""``asd-explain measure``: regenerate docs/measured.md (+ .json) from the shipped recipes over seeds; resumable."""
from __future__ import annotations

import json
import shlex
import sys
from dataclasses import asdict

import click


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


@click.command("measure")
@click.option("--recipes", default="train_synth,train_synth_maps", show_default=True,
              help="Comma-separated training recipes (names under configs/ or YAML paths); each needs optim.max_steps.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated training seeds.")
@click.option("--fractions", default="0.25,0.5,1", show_default=True,
              help="Points of the step budget at which best.pt and last.pt are measured (training resumes).")
@click.option("--budget-scale", default=1.0, show_default=True, type=float,
              help="Multiply every recipe's step budget (e.g. 0.1 for a quick look).")
@click.option("--videos", default="72,8", show_default=True, help="Training,validation videos of the corpora.")
@click.option("--seconds", default=10.0, show_default=True, help="Length of each synthetic video.")
@click.option("--size", default="640x360", show_default=True, help="Frame size of the synthetic videos.")
@click.option("--data", default="data", show_default=True, type=click.Path(file_okay=False),
              help="Folder of the corpora (synth_train, synth_val) and stores (synth_store); made if absent.")
@click.option("--out", default="runs/measure", show_default=True, type=click.Path(file_okay=False),
              help="Run folders (training runs, checkpoints of every point, every check's output).")
@click.option("--docs", default="docs", show_default=True, type=click.Path(file_okay=False),
              help="Where measured.md and measured.json are written.")
@click.option("--settings", default="paper,motion", show_default=True,
              help="explain-evidence map settings: paper (the paper's own: zero reference, z 1.282, bicubic), motion "
                   "(the shipped explanation settings), clip-mean, speaking.")
@click.option("--compare/--no-compare", default=True, show_default=True,
              help="Also run asd-explain compare (insertion, deletion, cost per method) at the last point.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override for every training (repeatable), e.g. data.num_workers=0.")
@click.option("--benchmarks", "benchmark_names", default="all", show_default=True,
              help="Scripts of benchmarks/ to run first (all, none, or comma-separated names: "
                   "asd_explain/measure/benchmarks.py), each printing its ratio against a baseline of the same run.")
@click.option("--readme", default="README.md", show_default=True, type=click.Path(dir_okay=False),
              help="README whose measured block (between its two marker comments) gets the worst seed of each claim.")
@click.option("--report-only", is_flag=True, help="Only rewrite measured.md / .json from what has run.")
@click.option("--quiet", is_flag=True, help="No progress bars of the commands (one line per unit still).")
def command(recipes, seeds, fractions, budget_scale, videos, seconds, size, data, out, docs, settings, compare,
            overrides, benchmark_names, readme, report_only, quiet) -> None:
    """Run the benchmarks, prepare the corpora, train every recipe x seed to 25 / 50 / 100% of its step budget,
    check its checkpoints at each point (evaluate, occlusion, explain-evidence), write docs/measured.md.
    Rerun to resume."""
    from pathlib import Path

    from ..measure.plan import Corpus, MeasureConfig
    from ..measure.report import collect
    from ..measure.report_md import write_report
    from ..measure.report_readme import update_readme
    from ..measure.runner import run_measurement

    try:
        train_videos, val_videos = _ints(videos)
        cfg = MeasureConfig(recipes=tuple(r for r in recipes.split(",") if r), seeds=_ints(seeds),
                            fractions=tuple(float(f) for f in fractions.split(",")), budget_scale=budget_scale,
                            corpus=Corpus(train_videos=train_videos, val_videos=val_videos, seconds=seconds,
                                          size=size),
                            data=data, out=out, docs=docs, settings=tuple(s for s in settings.split(",") if s),
                            compare=compare, overrides=tuple(overrides), quiet=quiet,
                            benchmarks=benchmark_names)
        log = None if report_only else run_measurement(cfg, say=lambda line: click.echo(f"[measure] {line}"))
        line = shlex.join(["asd-explain", "measure", *sys.argv[2:]]) if sys.argv[1:2] == ["measure"] else \
            "asd-explain measure"
        summary = collect(cfg)
        md, js = write_report(summary, Path(docs), command=line, settings=asdict(cfg))
        readme_written = update_readme(Path(readme), summary, len(cfg.seeds),
                                       json.loads(js.read_text())["generated"])
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    if log is not None:
        click.echo(f"[measure] {len(log.ran)} units run, {len(log.skipped)} already done, {len(log.failed)} failed")
        for unit, reason in log.failed:
            click.echo(f"[measure] FAILED {unit}: {reason}", err=True)
    click.echo(f"wrote {md}, {js}" + (f", the measured block of {readme}" if readme_written else ""))
    if log is not None and log.failed:
        raise SystemExit(1)
