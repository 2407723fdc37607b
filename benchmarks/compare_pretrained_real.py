"""SE maps against GradCAM / GradCAM++ / EigenGradCAM / FullGrad on the published Light-ASD and LR-ASD, on the
two real talking heads: mouth pointing, Deletion / Insertion per modality (face, audio), time.

1. A labelled store of the clips (``pretrained_inputs.labelled_store.write_authors_store``: the authors'
   preparation, dlib-68 mouth regions, labels from the speech segments of ``../shared/data/real/README.md``),
   in ``--store`` (kept and reused) or a temporary folder.
2. ``compare_av`` (what ``asd-explain compare --pretrained NAME [--se-checkpoint FILE] --data STORE`` runs) for
   every model, with its SE blocks identity at initialisation and/or distilled (``--se-checkpoint NAME=FILE``).
3. One markdown table (and ``--json``: the summaries), plus each run's report folder under ``--out``.

    ASD_EXPLAIN_WEIGHTS=../shared/weights python benchmarks/compare_pretrained_real.py \\
        --se-checkpoint light-asd=RUN/checkpoints/best.pt --se-checkpoint lr-asd=RUN2/checkpoints/best.pt \\
        [--store STORE] [--out OUT] [--identity] [--clips 12 --clip-frames 25 --steps 8] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
METHODS = "se,se-paper,se-clipmean,se-speaking,se-motion,gradcam,gradcam++,eigengradcam,fullgrad"


def readme_speech(readme: Path) -> dict[str, list[tuple[float, float]]]:
    """{file name: speech segments} from the README's table (last column "0.0-2.5, 3.5-4.7")."""
    out = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].endswith(".mp4"):
            spans = re.findall(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", cells[-1])
            out[cells[0]] = [(float(a), float(b)) for a, b in spans]
    if not out:
        raise ValueError(f"{readme}: no '| video.mp4 | ... | segments |' rows")
    return out


def build_store(real: Path, store: Path, progress: bool) -> Path:
    from asd_explain.pretrained_inputs.labelled_store import LabelledVideo, write_authors_store

    speech = readme_speech(real / "README.md")
    videos = [LabelledVideo(real / name, tuple(segments)) for name, segments in sorted(speech.items())]
    write_authors_store(videos, store, landmarks="dlib68", progress=progress)
    return store


def table(results: list[dict]) -> str:
    """One markdown row per (model, SE, method)."""
    lines = ["| model | SE blocks | method | face mouth region % | face lip box % | face deletion | "
             "face insertion | audio deletion | audio insertion | ms per clip (face / audio) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in results:
        by = {(s["modality"], s["method"]): s for s in run["summary"]}
        methods = list(dict.fromkeys(s["method"] for s in run["summary"]))
        for method in methods:
            f, a = by.get(("face", method), {}), by.get(("audio", method), {})
            lines.append(f"| {run['model']} | {run['se']} | {method} | {_f(f.get('mouth_pct'), 1)} | "
                         f"{_f(f.get('lips_pct'), 1)} | {_f(f.get('deletion_auc'))} | {_f(f.get('insertion_auc'))} | "
                         f"{_f(a.get('deletion_auc'))} | {_f(a.get('insertion_auc'))} | "
                         f"{_f(f.get('ms_per_clip'), 0)} / {_f(a.get('ms_per_clip'), 0)} |")
        face = next((s for s in run["summary"] if s["modality"] == "face" and "centre_mouth_pct" in s), None)
        if face:
            lines.append(f"| {run['model']} | {run['se']} | crop centre (no model) | "
                         f"{_f(face['centre_mouth_pct'], 1)} | {_f(face['centre_lips_pct'], 1)} | | | | | |")
    return "\n".join(lines)


def _f(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", default=str(REAL), help="folder with the clips and README.md")
    parser.add_argument("--store", help="store folder (default: a temporary one)")
    parser.add_argument("--out", help="report folders (default: a temporary one)")
    parser.add_argument("--models", nargs="+", default=["light-asd", "lr-asd"])
    parser.add_argument("--se-checkpoint", action="append", default=[], metavar="NAME=FILE")
    parser.add_argument("--identity", action="store_true", help="also compare with identity-at-init SE blocks")
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--clip-frames", type=int, default=25)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from asd_explain.cli.av_compare import load_compared_model
    from asd_explain.data.store import TrackStore
    from asd_explain.explain.av_compare import AVCompareConfig, compare_av
    from asd_explain.metrics.deletion import CausalSettings

    torch.set_num_threads(args.threads)
    checkpoints = dict(item.split("=", 1) for item in args.se_checkpoint)
    scratch = tempfile.TemporaryDirectory(prefix="compare_real_")
    store = TrackStore(build_store(Path(args.real), Path(args.store or Path(scratch.name) / "store"), not args.json))
    out = Path(args.out or Path(scratch.name) / "reports")
    results = []
    runs = [(name, checkpoints[name]) for name in args.models if name in checkpoints]  # distilled first
    runs += [(name, None) for name in args.models if args.identity or name not in checkpoints]
    for name, se in runs:
        model, maps, info = load_compared_model(store, torch.device("cpu"), None, name, None, se)
        cfg = AVCompareConfig(methods=tuple(args.methods.split(",")), clips=args.clips,
                              clip_frames=args.clip_frames, batch_size=4,
                              causal=CausalSettings(steps=args.steps, batch_size=16), maps=maps)
        folder = out / f"{name}-{'distilled' if se else 'identity'}"
        result = compare_av(model, store, cfg, folder, info=info, progress=not args.json)
        results.append({"model": name, "se": "distilled" if se else "identity", "se_checkpoint": se,
                        "report": str(folder), "clips": result.info["clips"], "summary": result.summary})
    if args.json:
        print(json.dumps({"store": str(store.path), "frames": int(store.n_frames), "runs": results}, default=str))
    print(table(results))


if __name__ == "__main__":
    main()
