"""Compare SE with the grad-cam family on the audio-visual model, per modality (``asd-explain compare``).

``compare_av(model, store, cfg, out_dir, corpus=None)`` explains the same clips of a track store with
every method and scores each modality's maps:

- Deletion / Insertion (``metrics.deletion``, RISE settings: score = mean over the clip's frames of the
  probability of each frame's clean top-1 class): face and body crops per frame (pixels of each frame
  ranked by its own map, all frames perturbed at once; deleted pixels = 0 in the normalised space,
  i.e. mean grey; insertion from the blurred crops), and the audio feature spectrogram ((4T, F) bins;
  deleted bins = the clip's quietest value of that frequency band, insertion from the blurred
  spectrogram). Only the perturbed modality's encoder runs per perturbed input (``CachedStages``).
- published models (``models.pretrained``: face + audio) read the store as they were trained (grey 112 px
  crops with their normalisation, python_speech_features MFCC: ``train.pretrained_sources.PsfAudioDataset``);
  grad-cam methods target the encoder's last block (``av_baselines.PUBLISHED_TARGET``);
- with mouth regions in the store (``pretrained_inputs.labelled_store``: real videos): mouth pointing of
  the face maps on labelled speaking frames, on the grown mouth region and the bare lip box, beside a map
  peaked at the crop's centre (``av_mouth``);
- with ``corpus`` (the synthetic corpus the store was made from): pointing against the evidence:
  face map maximum in the mouth box, body map maximum in the gesture box (correctly scored speaking
  frames), and the audio attention's mass in voiced audio frames over their share (any on-screen
  audible voice, and the track's own voice).
- time per clip explanation: SE explains all modalities in one no-grad forward (that whole time is
  charged to each modality); a grad-cam method runs one forward + backward per modality
  (``av_baselines.ModalityView``). Methods are interleaved batch by batch in a rotating order.

Every method is an explainer of the registry ``av_explainers.AV_EXPLAINERS`` (SE variants and grad-cam
baselines alike): each batch is one loop over explainers, each returning the same ``Explanation``.

Per-batch records go to ``out_dir/progress.jsonl`` (a stopped run resumes with the same settings); the
report is ``av_compare_report.write_av_report``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..data.dataset import TrackDataset
from ..data.store import TrackStore
from ..metrics.deletion import CausalSettings, deletion_insertion
from ..metrics.pointing import pointing_game
from ..models.asd_model import ASDModel
from .av_baselines import CachedStages
from .av_evidence import track_evidence
from .av_explainers import AV_EXPLAINERS, build_av_explainer, explain_with, explainer_family, se_settings_for_compare
from .av_mouth import MouthSource, score_mouth, summarise_mouth
from .journal import RecordJournal
from .map_settings import MapSettings

AV_METHODS = ("se", "gradcam", "gradcam++", "eigengradcam", "fullgrad")
PRIMARY_SE = "se"  # its checks are reported under the modality's name, other SE variants as "modality/name"
MODALITY_ORDER = ("face", "body", "audio")


@dataclass
class AVCompareConfig:
    """Settings of one comparison (saved with the results).

    methods: explainers (se and grad-cam names); modalities: those compared (the model's by default);
    clips: clips compared, spread evenly over the store's tracks; clip_frames: frames per clip;
    batch_size: clips per explanation call; causal: Deletion / Insertion settings (``steps`` = curve
    points - 1); speaking_threshold, pointing_tolerance_px, voiced_envelope: evidence scoring;
    maps: the SE explainers' map settings (the variants change their reference; occlusion is always off).
    """

    methods: tuple[str, ...] = AV_METHODS
    modalities: tuple[str, ...] = MODALITY_ORDER
    clips: int = 24
    clip_frames: int = 32
    batch_size: int = 4
    causal: CausalSettings = field(default_factory=lambda: CausalSettings(steps=16, batch_size=16))
    speaking_threshold: float = 0.5
    pointing_tolerance_px: float = 0.0
    voiced_envelope: float = 0.1
    maps: MapSettings = field(default_factory=MapSettings)

    def __post_init__(self) -> None:
        names = [m.strip().lower() for m in self.methods if m.strip()]
        if "scorecam" in names:
            raise ValueError("scorecam is not offered for the AV model (one forward per channel and frame)")
        unknown = [m for m in names if m not in AV_EXPLAINERS]
        if unknown or not names:
            what = f"unknown method {unknown[0]!r}" if unknown else "no methods given"
            raise ValueError(f"{what} (valid: {', '.join(AV_EXPLAINERS)})")
        self.methods = tuple(dict.fromkeys(names))
        unknown = [m for m in self.modalities if m not in MODALITY_ORDER]
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r} (valid: {', '.join(MODALITY_ORDER)})")
        for name in ("clips", "clip_frames", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def choose_clips(lengths: np.ndarray, clip_frames: int, count: int) -> list[tuple[int, int, int]]:
    """``count`` clips (track, start, n_frames) spread evenly over all whole clips of all tracks."""
    candidates = [(t, s, clip_frames) for t, n in enumerate(lengths.tolist())
                  for s in range(0, int(n) - clip_frames + 1, clip_frames)]
    if not candidates:
        raise ValueError(f"no track has {clip_frames} frames; lower clip_frames")
    if count >= len(candidates):
        return candidates
    picks = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [candidates[i] for i in picks]


@dataclass
class AVCompareResult:
    rows: list[dict[str, Any]]        # one per (method, modality, clip)
    summary: list[dict[str, Any]]     # one per (modality, method)
    checks: dict[str, Any]
    curves: dict[str, dict[str, dict[str, list[float]]]]  # modality -> method -> {deletion, insertion}
    config: AVCompareConfig
    info: dict[str, Any]


def compare_av(model: ASDModel, store: TrackStore | str | Path, cfg: AVCompareConfig | None = None,
               out_dir: str | Path | None = None, *, corpus: str | Path | None = None,
               info: dict[str, Any] | None = None, progress: bool = True) -> AVCompareResult:
    """Run every method on every modality of ``cfg.clips`` clips (module docstring); report into ``out_dir``."""
    cfg = cfg or AVCompareConfig()
    store = store if isinstance(store, TrackStore) else TrackStore(store)
    model = model.eval()
    modalities = tuple(m for m in cfg.modalities if m in model.modalities)
    if not modalities:
        raise ValueError(f"none of {list(cfg.modalities)} is a stream of the model ({list(model.modalities)})")
    clips = choose_clips(store.lengths, cfg.clip_frames, cfg.clips)
    info = dict(info or {}, store=str(store.path), clips=len(clips), modalities=list(modalities),
                corpus=None if corpus is None else str(corpus))
    journal = RecordJournal(Path(out_dir) / "progress.jsonl", _fingerprint(cfg, info)) if out_dir else None
    done = journal.load() if journal else {}
    dataset = _dataset(store, model)
    evidence = _EvidenceSource(store, Path(corpus), cfg.voiced_envelope) if corpus else None
    mouth = MouthSource(store) if "face" in modalities else None
    mouth = mouth if mouth is not None and mouth.available else None
    batches = [clips[i:i + cfg.batch_size] for i in range(0, len(clips), cfg.batch_size)]
    rows: list[dict[str, Any]] = []
    curve_sums: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    if len(done) < len(batches) * len(cfg.methods):
        warm_up(model, to_device(dataset.collate([dataset[k] for k in batches[0]]), model.device), cfg.methods,
                modalities, cfg.maps)
    for index, keys in enumerate(tqdm(batches, desc="compare", unit="batch", disable=not progress)):
        batch = to_device(dataset.collate([dataset[k] for k in keys]), model.device)
        order = cfg.methods[index % len(cfg.methods):] + cfg.methods[:index % len(cfg.methods)]
        for method in order:
            record = done.get((index, method))
            if record is None:
                record = run_method(model, batch, method, modalities, cfg,
                                    evidence.for_clips(keys) if evidence else None,
                                    mouth.for_clips(keys) if mouth else None)
                if journal:
                    journal.append(index, method, record)
            for row in record["rows"]:
                rows.append(dict(row, method=method, clip=keys[row["item"]][:2]))
            for modality, sums in record["curve_sums"].items():
                target = curve_sums.setdefault((modality, method), {})
                for kind, values in sums.items():
                    target[kind] = target.get(kind, 0) + np.asarray(values)
    result = summarise_av(rows, curve_sums, cfg, info, modalities)
    if out_dir is not None:
        from .av_compare_report import write_av_report

        first = to_device(dataset.collate([dataset[clips[0]]]), model.device)
        write_av_report(result, Path(out_dir), grid=grid_maps(model, first, cfg, modalities))
    return result


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch's tensors on ``device`` (lists stay)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _dataset(store: TrackStore, model: ASDModel) -> TrackDataset:
    if not hasattr(model, "config"):  # a published model: grey crops + the authors' MFCC
        from ..train.pretrained_sources import PsfAudioDataset

        p = model.preprocessing
        return PsfAudioDataset(TrackDataset(store, modalities=("face",), grey_norm=(p.pixel_mean, p.pixel_std)))
    from ..data.preprocessing import model_preprocessing

    c, prep = model.config, model_preprocessing(model)  # the checkpoint's: normalisation, head hidden in bodies
    names = tuple(m for m in ("face", "body", "audio") if m in c.modalities)
    return TrackDataset(store, audio_feature=c.audio_feature,
                        n_mels=c.n_audio_features if c.audio_feature == "logmel" else 40, modalities=names,
                        sample_rate_hz=prep.sample_rate_hz, grey_norm=(prep.face_mean, prep.face_std),
                        body_hide_face=prep.hide_margin)


def warm_up(model: ASDModel, batch: dict[str, Any], methods: tuple[str, ...], modalities: tuple[str, ...],
            maps: MapSettings | None = None) -> None:
    """One untimed call of the first method of each family first (one modality for gradient methods), so no
    method's time includes the process's first passes."""
    firsts = {explainer_family(m): m for m in reversed(methods)}
    for family, method in firsts.items():
        explain_maps(model, batch, method, modalities if family == "se" else modalities[:1], maps)


def explain_maps(model: ASDModel, batch: dict[str, Any], method: str, modalities: tuple[str, ...],
                 maps: MapSettings | None = None) -> tuple[dict[str, torch.Tensor], dict[str, float], torch.Tensor]:
    """Maps per modality in batch layout ((B, T, H, W) crops, (B, 4T, F) audio), seconds per modality and
    the clean per-frame scores (B, T), from the registered explainer ``method`` (SE: on ``maps``)."""
    explainer = build_av_explainer(method, model, se_settings_for_compare(maps), modalities)
    with explainer:
        result, scores = explain_with(explainer, batch)
    maps = {m: result.maps[m] for m in modalities}
    return maps, {m: result.extras["seconds"][m] for m in modalities}, scores


def run_method(model: ASDModel, batch: dict[str, Any], method: str, modalities: tuple[str, ...],
               cfg: AVCompareConfig, evidence: list | None, mouth: list | None = None) -> dict[str, Any]:
    """Explain one batch with one method, then score every modality's maps; a JSON-able record."""
    maps, seconds, scores = explain_maps(model, batch, method, modalities, cfg.maps)
    rows = [{"item": i} for i in range(len(batch["entity_ids"]))]
    curve_sums = {}
    for m in modalities:
        offset = batch[m].amin(dim=1, keepdim=True) if m == "audio" else 0.0  # (B, 1, F) quietest per band
        stages = CachedStages(model, batch, m, offset)
        curves = deletion_insertion(stages, batch[m] - offset, maps[m].to(batch[m].device), cfg.causal)
        curve_sums[m] = {"deletion": curves.deletion.sum(0).tolist(), "insertion": curves.insertion.sum(0).tolist()}
        for i, row in enumerate(rows):
            row[f"{m}_deletion_auc"] = float(curves.deletion_auc[i])
            row[f"{m}_insertion_auc"] = float(curves.insertion_auc[i])
            row[f"{m}_seconds"] = seconds[m] / len(rows)
    if evidence is not None:
        _score_evidence(rows, maps, scores, batch, evidence, cfg)
    if mouth is not None and "face" in maps:
        score_mouth(rows, maps["face"], batch, mouth)
    return {"rows": rows, "curve_sums": curve_sums, "step": int(curves.step)}


def _score_evidence(rows: list[dict[str, Any]], maps: dict[str, torch.Tensor], scores: torch.Tensor,
                    batch: dict[str, Any], evidence: list, cfg: AVCompareConfig) -> None:
    """Pointing hits (face: mouth box, body: gesture box) on correct speaking frames; audio mass/share."""
    correct = (batch["labels"].cpu() == 1) & (scores.cpu() >= cfg.speaking_threshold)
    for i, (row, ev) in enumerate(zip(rows, evidence, strict=True)):
        frames = correct[i].numpy()
        row["correct_speaking_frames"] = int(frames.sum())
        for m, masks in (("face", ev.mouth_masks), ("body", ev.gesture_masks)):
            if m in maps and masks is not None:
                hits = pointing_game(maps[m][i:i + 1].cpu(), torch.from_numpy(masks)[None], cfg.pointing_tolerance_px)
                row[f"{m}_pointing_hits"] = int(hits[0].numpy()[frames].sum())
        if "audio" in maps:
            mass = maps["audio"][i].cpu().clamp_min(0).sum(dim=1).numpy()  # (4T,) per audio frame
            for who, voiced in (("any", ev.voiced_any), ("own", ev.voiced_own)):
                row[f"audio_voiced_share_{who}"] = float(voiced.mean())
                row[f"audio_voiced_mass_{who}"] = float(mass[voiced].sum() / max(mass.sum(), 1e-12))


class _EvidenceSource:
    """Evidence of store clips from the corpus's evidence files (one video cached)."""

    def __init__(self, store: TrackStore, corpus: Path, voiced_envelope: float) -> None:
        if not (corpus / "evidence").is_dir():
            raise FileNotFoundError(f"{corpus / 'evidence'}: no evidence folder (make the corpus with asd-prep synth)")
        self.store, self.corpus, self.voiced_envelope = store, corpus, voiced_envelope
        self._video: tuple[str, dict[str, Any]] | None = None

    def for_clips(self, keys: list[tuple[int, int, int]]) -> list:
        from ..data.evidence import load_evidence

        out = []
        for track_index, start, n in keys:
            track = self.store.read(self.store.entity_ids[track_index], start, start + n, modalities=("face", "body"))
            if self._video is None or self._video[0] != track.video_id:
                path = self.corpus / "evidence" / f"{track.video_id}.npz"
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no evidence for video {track.video_id}")
                self._video = (track.video_id, load_evidence(path))
            out.append(track_evidence(track, self._video[1], voiced_envelope=self.voiced_envelope))
        return out


def summarise_av(rows: list[dict[str, Any]], curve_sums: dict, cfg: AVCompareConfig, info: dict[str, Any],
                 modalities: tuple[str, ...]) -> AVCompareResult:
    """Means per (modality, method), the must-show checks and the mean curves."""
    summary, curves = [], {}
    for m in modalities:
        for method in cfg.methods:
            mine = [r for r in rows if r["method"] == method]
            if not mine:
                continue
            entry = {"modality": m, "method": method, "clips": len(mine),
                     "deletion_auc": _mean(mine, f"{m}_deletion_auc"),
                     "insertion_auc": _mean(mine, f"{m}_insertion_auc"),
                     "ms_per_clip": 1000 * _mean(mine, f"{m}_seconds")}
            if m in ("face", "body") and any(f"{m}_pointing_hits" in r for r in mine):
                frames = sum(r.get("correct_speaking_frames", 0) for r in mine)
                hits = sum(r.get(f"{m}_pointing_hits", 0) for r in mine)
                entry["pointing_pct"] = 100 * hits / frames if frames else None
            if m == "face":
                entry.update(summarise_mouth(mine))
            if m == "audio" and any("audio_voiced_share_any" in r for r in mine):
                for who in ("any", "own"):
                    scored = [r for r in mine if r[f"audio_voiced_share_{who}"] > 0]
                    entry[f"voiced_mass_over_share_{who}"] = (
                        _mean(scored, f"audio_voiced_mass_{who}") / _mean(scored, f"audio_voiced_share_{who}")
                        if scored else None)
            summary.append(entry)
            sums = curve_sums.get((m, method), {})
            curves.setdefault(m, {})[method] = {k: (v / max(len(mine), 1)).tolist() for k, v in sums.items()}
    checks = se_checks(summary)
    for name in (n for n in cfg.methods if explainer_family(n) == "se" and n != PRIMARY_SE):
        checks.update({f"{m}/{name}": c for m, c in se_checks(summary, method=name).items()})
    return AVCompareResult(rows, summary, checks, curves, cfg, info)


def se_checks(summary: list[dict[str, Any]], margin: float = 0.03, speedup: float = 2.5,
              method: str = PRIMARY_SE) -> dict[str, Any]:
    """Per modality: SE insertion vs the best baseline's (>= best - margin) and GradCAM time / SE time."""
    checks = {}
    for m in dict.fromkeys(s["modality"] for s in summary):
        by_method = {s["method"]: s for s in summary if s["modality"] == m}
        if method not in by_method:
            continue
        se = by_method[method]
        baselines = {k: v for k, v in by_method.items() if explainer_family(k) != "se"}
        entry: dict[str, Any] = {"se_insertion": se["insertion_auc"]}
        if baselines:
            best = max(baselines, key=lambda k: baselines[k]["insertion_auc"])
            entry.update(best_baseline=best, best_insertion=baselines[best]["insertion_auc"],
                         insertion_ok=se["insertion_auc"] >= baselines[best]["insertion_auc"] - margin)
        if "gradcam" in baselines:
            ratio = baselines["gradcam"]["ms_per_clip"] / max(se["ms_per_clip"], 1e-9)
            entry.update(gradcam_time_over_se=ratio, time_ok=ratio >= speedup)
        checks[m] = entry
    return checks


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(values)) if values else float("nan")


def grid_maps(model: ASDModel, batch: dict[str, Any], cfg: AVCompareConfig, modalities: tuple[str, ...]
              ) -> dict[str, Any]:
    """Maps of one clip by every method, for the PNG grid."""
    maps = {method: explain_maps(model, batch, method, modalities, cfg.maps)[0] for method in cfg.methods}
    return {"batch": batch, "maps": maps}


def _fingerprint(cfg: AVCompareConfig, info: dict[str, Any]) -> str:
    text = json.dumps({"config": asdict(cfg), "info": info}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


