"""What ``asd-explain measure`` runs: recipes x seeds x points of the step budget x checkpoints x checks.

Everything is a function of ``MeasureConfig``; the commands are the public CLIs (``asd-prep``,
``asd-explain train | evaluate | explain-evidence | compare``), so every number in the report comes with
the command that repeats it.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Named map settings of explain-evidence. "paper": the paper's own (zero reference, top 10% z = 1.282,
# bicubic); "motion": the settings of the mouth and audio must-shows (docs/explain_av.md).
EVIDENCE_SETTINGS: dict[str, tuple[str, ...]] = {
    "paper": (),
    "motion": ("--reference", "motion", "--body-reference", "clip-mean", "--top-percent", "100",
               "--interpolation", "bilinear", "--audio-reference", "speaking"),
    "clip-mean": ("--reference", "clip-mean", "--top-percent", "100", "--interpolation", "bilinear"),
    "speaking": ("--reference", "speaking", "--top-percent", "100", "--interpolation", "bilinear"),
}
COMPARE_ARGS = ("--methods", "se,se-clipmean,se-speaking,se-motion,gradcam,gradcam++,eigengradcam,fullgrad",
                "--clips", "16", "--clip-frames", "32", "--steps", "12")
CHECKPOINTS = ("best", "last")


def checkpoints_at(final_point: bool) -> tuple[str, ...]:
    """The checkpoints measured at a point of the budget: both at the last point (the claims are about them);
    at 25% / 50% only ``last.pt``, the model at that step (``best.pt`` there is the best up to that step, which
    the final point's ``best.pt`` already reports; measuring it would add a third of the checks' time)."""
    return CHECKPOINTS if final_point else ("last",)


@dataclass
class Corpus:
    """The synthetic corpora of the README (72 training videos seed 3, 8 validation videos seed 2)."""

    train_videos: int = 72
    val_videos: int = 8
    seconds: float = 10.0
    size: str = "640x360"
    train_seed: int = 3
    val_seed: int = 2


@dataclass
class MeasureConfig:
    """One measurement campaign.

    recipes: training YAMLs (paths, or names under ``configs/``); seeds: training seeds;
    fractions: points of each recipe's step budget (``optim.max_steps``) at which both checkpoints are
    measured; budget_scale: multiplies every budget (smaller runs for tests); data: folder of the corpora
    and stores (made if absent); out: run folders; docs: where measured.md / measured.json go;
    settings: EVIDENCE_SETTINGS names; compare: also ``asd-explain compare`` at the last point;
    overrides: ``--set key=value`` for every training (e.g. a smaller model for tests);
    benchmarks: which scripts of ``benchmarks/`` run (``all``, ``none`` or names; ``measure.benchmarks``).
    """

    recipes: tuple[str, ...] = ("train_synth", "train_synth_maps")
    seeds: tuple[int, ...] = (0, 1, 2)
    fractions: tuple[float, ...] = (0.25, 0.5, 1.0)
    budget_scale: float = 1.0
    corpus: Corpus = field(default_factory=Corpus)
    data: str = "data"
    out: str = "runs/measure"
    docs: str = "docs"
    settings: tuple[str, ...] = ("paper", "motion")
    compare: bool = False
    overrides: tuple[str, ...] = ()
    quiet: bool = False
    benchmarks: str = "all"

    def __post_init__(self) -> None:
        unknown = [s for s in self.settings if s not in EVIDENCE_SETTINGS]
        if unknown:
            raise ValueError(f"unknown evidence setting {unknown[0]!r} (known: {', '.join(EVIDENCE_SETTINGS)})")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError(f"fractions must be in (0, 1], got {self.fractions}")
        from .benchmarks import select

        select(self.benchmarks)  # a one-line error for an unknown name, before anything runs
        if self.budget_scale <= 0:
            raise ValueError(f"budget_scale must be > 0, got {self.budget_scale}")


def recipe_path(recipe: str) -> Path:
    """``train_synth`` -> configs/train_synth.yaml; a path is kept."""
    path = Path(recipe)
    if path.suffix in (".yaml", ".yml"):
        return path
    return Path("configs") / f"{recipe}.yaml"


def recipe_name(recipe: str) -> str:
    return recipe_path(recipe).stem


def step_budget(recipe: str) -> int:
    """The recipe's ``optim.max_steps``; a one-line error when it has none."""
    path = recipe_path(recipe)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ValueError(f"{path}: recipe not found") from None
    steps = int((data.get("optim") or {}).get("max_steps") or 0)
    if steps <= 0:
        raise ValueError(f"{path}: optim.max_steps is not set; measure needs a step budget")
    return steps


def step_points(budget: int, fractions: tuple[float, ...], scale: float = 1.0) -> list[int]:
    """Distinct step targets, ascending: max(1, round(budget * scale * f)) for each fraction."""
    scaled = max(1, round(budget * scale))
    return sorted({max(1, round(scaled * f)) for f in fractions})


def stores(cfg: MeasureConfig) -> dict[str, Path]:
    root = Path(cfg.data)
    return {"train_corpus": root / "synth_train", "val_corpus": root / "synth_val", "store": root / "synth_store"}


def prep_commands(cfg: MeasureConfig) -> list[tuple[Path, list[str]]]:
    """(folder it makes, argv after ``asd-prep``) for the two corpora and their stores, in order."""
    s, c = stores(cfg), cfg.corpus
    common = ["--seconds", str(c.seconds), "--size", c.size]
    out = []
    for split, corpus, videos, seed in (("train", s["train_corpus"], c.train_videos, c.train_seed),
                                         ("val", s["val_corpus"], c.val_videos, c.val_seed)):
        out.append((corpus, ["synth", "--out", str(corpus), "--videos", str(videos), *common, "--seed", str(seed),
                             "--split", split]))
    for split, corpus in (("train", s["train_corpus"]), ("val", s["val_corpus"])):
        out.append((s["store"] / split, ["wasd", "--videos", str(corpus / "videos"), "--annotations",
                                         str(corpus / "annotations"), "--split", split, "--metadata",
                                         str(corpus / "metadata.csv"), "--out", str(s["store"] / split)]))
    return out


def run_dir(cfg: MeasureConfig, recipe: str, seed: int) -> Path:
    return Path(cfg.out) / recipe_name(recipe) / f"seed{seed}"


def train_args(cfg: MeasureConfig, recipe: str, seed: int, steps: int, folder: Path | None = None) -> list[str]:
    """argv after ``asd-explain``: train to ``steps`` in total (resuming the run folder: ``folder``, by default
    the seed's ``train``)."""
    folder = run_dir(cfg, recipe, seed) / "train" if folder is None else folder
    args = ["train", "--config", str(recipe_path(recipe)), "--store", str(stores(cfg)["store"]),
            "--set", f"run_dir={folder}", "--set", f"seed={seed}",
            "--set", f"optim.max_steps={steps}", "--set", "optim.max_time_s=0"]
    for item in cfg.overrides:
        args += ["--set", item]
    if cfg.quiet:
        args += ["--set", "progress=false"]
    return args


def point_dir(cfg: MeasureConfig, recipe: str, seed: int, steps: int) -> Path:
    return run_dir(cfg, recipe, seed) / f"step{steps}"


def check_args(cfg: MeasureConfig, checkpoint: Path, out: Path, kind: str, setting: str = "") -> list[str]:
    """argv after ``asd-explain`` of one check of one checkpoint: evaluate, occlusion, evidence or compare."""
    s = stores(cfg)
    data = ["--checkpoint", str(checkpoint), "--data", str(s["store"]), "--split", "val"]
    quiet = ["--quiet"] if cfg.quiet else []
    if kind == "evaluate":
        return ["evaluate", *data, "--out", str(out), *quiet]
    if kind == "occlusion":
        return ["occlusion", *data, "--out", str(out), *quiet]
    if kind == "evidence":
        return ["explain-evidence", *data, "--corpus", str(s["val_corpus"]), "--out", str(out),
                *EVIDENCE_SETTINGS[setting], *quiet]
    if kind == "compare":
        return ["compare", *data, "--corpus", str(s["val_corpus"]), "--out", str(out), *COMPARE_ARGS, *quiet]
    raise ValueError(f"unknown check {kind!r}")


def shell(program: str, args: list[str]) -> str:
    """The command line a user types: ``asd-explain train --config ...``."""
    return shlex.join([program, *args])

