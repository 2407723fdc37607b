"""The README's measured block: the worst seed of each claim at the end of each recipe's step budget.

``asd-explain measure`` rewrites the lines between ``BEGIN`` and ``END`` of the README (nothing else), so
the README quotes numbers only from the measurement, never typed in by hand. The worst seed is the minimum
over the seeds measured (every quoted number is higher-is-better); the targets are issue 20's, judged on
the explanation recipe only. The last line is the published models on real footage, from the
``pretrained_real`` benchmark's JSON (one run: it has no seeds).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import atomic_write_text

BEGIN = "<!-- measured: begin (written by asd-explain measure from docs/measured.json; do not edit) -->"
END = "<!-- measured: end -->"

# (label, metric key, format, target or None); the paper's settings are quoted beside the shipped ones
CLAIMS: list[tuple[str, str, str, float | None]] = [
    ("val AP", "val_ap", ".4f", None),
    ("AP lost with the faces blanked", "ap_drop:face", ".3f", 0.05),
    ("mouth pointing (motion settings)", "mouth_pointing:motion", "%", 0.85),
    ("mouth pointing (the paper's settings)", "mouth_pointing:paper", "%", None),
    ("audio attention in the own voice (speaking reference)", "audio_tf_own:motion", "x", 2.0),
    ("audio attention in the own voice (the paper's settings)", "audio_tf_own:paper", "x", None),
]


# claim key -> (reference key, words): a number of the same run quoted beside the claim to read it by
REFERENCES = {"audio_tf_own:motion": ("audio_tf_own_voices_map:motion",
                                      "the map of every on-screen voice at the audio map's size scores")}


def _fmt(value: float, fmt: str) -> str:
    if fmt == "%":
        return f"{100 * value:.1f}%"
    if fmt == "x":
        return f"{value:.3f}x"  # three decimals: 1.998x must not read as a met 2.00x
    return format(value, fmt)


def _target(stat: dict[str, Any], target: float | None, fmt: str) -> str:
    """The verdict on the worst seed; where it misses and more than one seed ran, how many seeds meet it."""
    if target is None:
        return ""
    if stat["min"] >= target:
        return f" (target >= {_fmt(target, fmt)}: met)"
    values = list(stat.get("values", {}).values())
    seeds = ""
    if len(values) > 1:
        seeds = f"; met on {sum(v >= target for v in values)} of {len(values)} seeds"
    return f" (target >= {_fmt(target, fmt)}: not met{seeds})"


def _reference(stats: dict[str, Any], key: str, fmt: str) -> str:
    ref, words = REFERENCES.get(key, (None, ""))
    if ref not in stats:
        return ""
    low, high = stats[ref]["min"], stats[ref]["max"]  # the same on every seed unless the corpora differ
    value = _fmt(low, fmt) if _fmt(low, fmt) == _fmt(high, fmt) else f"{_fmt(low, fmt)}-{_fmt(high, fmt)}"
    return f" ({words} {value})"


# the recipe issue 20's targets are about: the shipped explanation recipe (the others are quoted without verdicts)
EXPLANATION_RECIPES = ("train_synth_maps",)


def verdict_line(config: str, rows: list[dict[str, Any]], seeds: int) -> str | None:
    """The explanation recipe's targets in one sentence: which hold on the worst seed of both checkpoints,
    which do not (and on which checkpoint); None until every checkpoint has every target on ``seeds`` seeds."""
    targets = [(label, key, target) for label, key, _, target in CLAIMS if target is not None]
    if len(rows) < 2 or any(r["stats"].get(key, {}).get("n", 0) < seeds for r in rows for _, key, _ in targets):
        return None
    met, missed = [], []
    for label, key, target in targets:
        short = [f"`{r['checkpoint']}.pt`" for r in rows if r["stats"][key]["min"] < target]
        if short:
            missed.append(f"{label} ({', '.join(short)})")
        else:
            met.append(label)
    text = f"- In short, `{config}` on the worst of {seeds} seeds, `best.pt` and `last.pt`: "
    text += f"holds: {'; '.join(met)}" if met else "no target holds"
    return text + (f"; does not hold: {'; '.join(missed)}." if missed else ".")


def claim_lines(summary: dict[str, Any], seeds: int) -> list[str]:
    """One bullet per recipe x checkpoint at the last point of its budget: the worst seed of each claim;
    after the explanation recipe's bullets, the verdict on its targets once every seed is measured."""
    lines = []
    for recipe in summary["recipes"]:
        judged = Path(recipe["config"]).stem in EXPLANATION_RECIPES
        last = max((row["target_steps"] for row in recipe["rows"]), default=None)
        last_rows = [r for r in recipe["rows"] if r["target_steps"] == last]
        verdict = verdict_line(recipe["config"], last_rows, seeds) if judged else None
        for row in last_rows:
            head = f"- `{recipe['config']}`, `{row['checkpoint']}.pt` at the {last}-step budget"
            n = len(row["seeds"])
            if n == 0:
                lines.append(f"{head}: not measured yet")
                continue
            stats = row["stats"]
            parts = [f"{label} {_fmt(stats[key]['min'], fmt)}"
                     f"{_target(stats[key], target if judged else None, fmt)}{_reference(stats, key, fmt)}"
                     for label, key, fmt, target in CLAIMS if key in stats]
            if not parts:  # trained, its checks not run yet
                lines.append(f"{head}: trained on {n} seed{'s' if n > 1 else ''}, not checked yet")
                continue
            of = f"worst of {n} seed{'s' if n > 1 else ''}"
            if n < seeds:
                of += f" ({n} of {seeds} measured so far)"
            lines.append(f"{head}, {of}: " + "; ".join(parts) + ".")
        if verdict:
            lines.append(verdict)
    return lines


REAL_UNIT = "pretrained_real"
MODEL_NAMES = {"light-asd": "Light-ASD", "lr-asd": "LR-ASD"}
METHOD_NAMES = {"gradcam": "GradCAM", "gradcam++": "GradCAM++", "eigengradcam": "EigenGradCAM", "fullgrad": "FullGrad"}


def _real_model(name: str, result: dict[str, Any]) -> str:
    """One model's clause: lip-box pointing of SE vs GradCAM / GradCAM++ / the crop centre, SE's insertion
    minus the best grad-cam method's per modality, GradCAM's time over SE's per modality."""
    lips = result["pointing"][name]["lips_pct"]
    others = [f"{METHOD_NAMES[m]} {lips[m]:.1f}%" for m in ("gradcam", "gradcam++") if m in lips]
    others.append(f"the crop centre {lips['crop centre']:.1f}%")
    text = (f"{MODEL_NAMES.get(name, name)}'s SE face map peaks in the lip box on {lips['se']:.1f}% of speaking "
            f"frames ({', '.join(others)})")
    gaps = result["insertion_gap"][name]
    if gaps:
        text += ", SE's insertion minus the best grad-cam method's " + " and ".join(
            f"{gap['gap']:+.3f} on the {m} ({METHOD_NAMES.get(gap['best'], gap['best'])})" for m, gap in gaps.items())
    ratios = {m: r["gradcam"] for m, r in result["time_over_se"][name].items() if "gradcam" in r}
    if ratios:
        text += ", GradCAM takes " + " / ".join(f"{v:.2f}x ({m})" for m, v in ratios.items()) + " SE's time"
    return text


def real_footage_line(summary: dict[str, Any]) -> str:
    """The README's line on the published models on the real clips; "not measured yet" before the unit ran."""
    head = (f"- Real footage (`python benchmarks/{REAL_UNIT}.py`, one run: the published models with SE gates "
            "distilled by `asd-explain distill`, on two real talking heads")
    row = next((r for r in summary.get("benchmarks", []) if r["name"] == REAL_UNIT), None)
    unit = row and row["unit"]
    if not unit or unit.get("skipped") or not row.get("result"):
        why = f" (skipped: {unit['skipped']})" if unit and unit.get("skipped") else ""
        return f"{head}): not measured yet{why}"
    result = row["result"]
    s = result["settings"]
    frames = result["pointing"][result["models"][0]].get("frames")  # the same frames for every model
    head += f", {s['distill_steps']} distillation steps, `{s['checkpoint']}.pt`, {frames} labelled speaking frames)"
    return f"{head}: " + "; ".join(_real_model(m, result) for m in result["models"]) + "."


def update_readme(readme: Path, summary: dict[str, Any], seeds: int, generated: str) -> bool:
    """Rewrite the block between BEGIN and END; False (README untouched) when it has no such block."""
    try:
        text = readme.read_text()
    except FileNotFoundError:
        return False
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return False
    body = [f"Measured {generated} by `asd-explain measure` ([docs/measured.md](docs/measured.md): every seed, "
            "25 / 50 / 100% of the budget, the commands, the machine load):", "", *claim_lines(summary, seeds),
            real_footage_line(summary)]
    new = text[:start + len(BEGIN)] + "\n" + "\n".join(body) + "\n" + text[end:]
    if new != text:
        atomic_write_text(readme, new)
    return True
