"""Do the SE explanations of the audio-visual model point at the real evidence? Checks on the synthetic corpus.

The synthetic corpus (``asd-prep synth``, docs/synth.md) records, per frame and person, the mouth box and
the gesture box, and per person the voice activity and syllable envelope at 100 Hz. With a store
prepared from that corpus (``asd-prep wasd CORPUS ...``) and the corpus's ``evidence/<video_id>.npz``
files, ``check_evidence`` measures on every track of the store:

1. mouth pointing: on correctly scored speaking frames (label SPEAKING_AUDIBLE and score >= 0.5), is
   the face heatmap's maximum inside the mouth box? The box is mapped into the 112 x 112 face crop
   with the crop maths of ``asd_explain.media.crops`` (pixel window of the store's face box, resized to the
   crop: an edge at window pixel u lands at u * crop / window); a crop pixel is inside when its centre
   is. Also: energy in the mouth box, and the body map against the gesture box.
2. audio attention on voices: the share of the spectrogram attention's mass that lies in the active
   speaker's voiced regions, divided by those regions' share of the spectrogram. Voiced regions are
   the audio frames (4 per video frame, centred as ``audio_features`` centres them) in which an
   on-screen person's audible voice has a syllable envelope above ``voiced_envelope``; "any" counts
   every on-screen person (whoever is the active speaker at that moment; the audio stream does not
   know whose face it is paired with), "own" only the track's own person. Off-screen voices and music
   count as outside. The same numbers for the envelope thresholds ``AUDIO_THRESHOLDS`` are reported too.
   In time-frequency ("tf", corpora of generator 1.1 on, log-mel models with the evidence's 40 mel bands):
   the voiced regions are the spectrogram bins where that voice dominates the soundtrack (its power in
   the band above everything else in the mix together, ``voice_mask_mel_100hz``). Each number comes with
   its ceiling, 1 / share: the ratio of an attention with all its mass inside the regions.
3. face blanking: the same tracks with every face crop replaced by a blank (flat mean-grey) crop: the
   face share of the fusion SE (modality importance) must fall.

Per-track rows and the summary go to ``evidence.json``, ``evidence.md`` and ``per_track.csv``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..config import atomic_write_text
from ..data.audio_features import feature_frame_centres
from ..data.store import Track, TrackStore
from ..media.crops import pixel_window
from ..metrics.pointing import coarse_map_mass_ratio, coarse_map_pointing, energy_in_mask, pointing_game
from ..models.asd_model import ASDModel
from .av import explain_track_arrays
from .av_explainers import build_av_explainer
from .av_track import TrackExplanation
from .map_settings import MapSettings

VOICE_RATE_HZ = 100
AUDIO_THRESHOLDS = (0.1, 0.3, 0.5)  # envelope levels reported besides the configured one


@dataclass
class EvidenceConfig:
    """Settings of the evidence checks (saved with the results).

    chunk_frames: frames explained at once (as ``evaluate`` scores tracks); max_tracks: first N tracks
    (0 = all); speaking_threshold: a speaking frame is correctly scored at score >= this;
    pointing_tolerance_px: extra tolerance of the pointing game (0 = strictly inside);
    voiced_envelope: syllable envelope level above which a voice counts as voiced;
    maps: how the SE maps are drawn (``MapSettings``); method: the explainer (``av_explainers.AV_EXPLAINERS``).
    """

    chunk_frames: int = 256
    max_tracks: int = 0
    speaking_threshold: float = 0.5
    pointing_tolerance_px: float = 0.0
    voiced_envelope: float = 0.1
    maps: MapSettings = field(default_factory=MapSettings)
    method: str = "se"


def box_masks(crop_boxes: np.ndarray, inner_boxes: np.ndarray, frame_size: tuple[int, int],
              crop_size: tuple[int, int]) -> np.ndarray:
    """Masks (T, h, w) of ``inner_boxes`` inside the crops cut at ``crop_boxes`` (both (T, 4) normalised).

    frame_size: (width, height) of the video; crop_size: (h, w) of the crops.
    """
    width, height = frame_size
    h, w = crop_size
    masks = np.zeros((len(crop_boxes), h, w), dtype=bool)
    centres_x, centres_y = np.arange(w) + 0.5, np.arange(h) + 0.5
    for t, (crop, inner) in enumerate(zip(crop_boxes, inner_boxes, strict=True)):
        x1, y1, x2, y2 = pixel_window(crop, width, height)
        sx, sy = w / (x2 - x1), h / (y2 - y1)
        left, right = (inner[0] * width - x1) * sx, (inner[2] * width - x1) * sx
        top, bottom = (inner[1] * height - y1) * sy, (inner[3] * height - y1) * sy
        inside_x = (centres_x >= left) & (centres_x < right)
        inside_y = (centres_y >= top) & (centres_y < bottom)
        masks[t] = inside_y[:, None] & inside_x[None, :]
    return masks


@dataclass
class TrackEvidence:
    """The evidence of one store track: person index, evidence rows, masks at crop size, voiced frames."""

    person: int
    rows: np.ndarray
    mouth_masks: np.ndarray
    gesture_masks: np.ndarray | None
    voiced_own: np.ndarray     # (4T,) bool, at the configured envelope threshold
    voiced_any: np.ndarray     # (4T,) bool
    envelope_own: np.ndarray   # (4T,) float, the own audible voice's syllable envelope (0 outside its turns)
    envelope_any: np.ndarray   # (4T,) float, the largest of every on-screen audible voice's envelope
    voice_tf_own: np.ndarray | None = None  # (n_mels, 4T) bool, bins where the own voice dominates
    voice_tf_any: np.ndarray | None = None  # (n_mels, 4T) bool, bins where an on-screen voice dominates


def track_evidence(track: Track, evidence: dict[str, Any], *, voiced_envelope: float = 0.1) -> TrackEvidence:
    """Map one video's evidence (``data_prep.synth.load_evidence``) onto a store track."""
    ids = [str(e) for e in evidence["entity_ids"]]
    if track.entity_id not in ids:
        raise ValueError(f"{track.entity_id}: not in the evidence of video {evidence['video_id']} ({ids})")
    person = ids.index(track.entity_id)
    rows = _evidence_rows(track, evidence)
    frame_size = (int(evidence["width"]), int(evidence["height"]))
    mouth = box_masks(track.face_boxes, evidence["mouth_box"][rows, person], frame_size, track.face.shape[1:3])
    gesture = None
    if track.body is not None and track.body_boxes is not None:
        gesture = box_masks(track.body_boxes, evidence["gesture_box"][rows, person], frame_size,
                            track.body.shape[1:3])
    audible = np.where(evidence["voice_audible_100hz"], evidence["voice_envelope_100hz"], 0.0)  # (P, K)
    centres_s = feature_frame_centres(track.timestamps_s, track.fps) + track.audio_start_s
    steps = np.clip(np.floor(centres_s * VOICE_RATE_HZ).astype(np.int64), 0, audible.shape[1] - 1)
    own, every = audible[person, steps], audible[:, steps].max(axis=0)
    tf_own = tf_any = None
    if "voice_mask_mel_100hz" in evidence:
        masks = evidence["voice_mask_mel_100hz"][:, steps]  # the same 100 Hz steps as the envelopes
        tf_own, tf_any = masks[person].T.copy(), masks.any(axis=0).T.copy()  # (n_mels, 4T)
    return TrackEvidence(person=person, rows=rows, mouth_masks=mouth, gesture_masks=gesture,
                         voiced_own=own > voiced_envelope, voiced_any=every > voiced_envelope,
                         envelope_own=own, envelope_any=every, voice_tf_own=tf_own, voice_tf_any=tf_any)


def _evidence_rows(track: Track, evidence: dict[str, Any]) -> np.ndarray:
    """Evidence frame index of every track row: the decoded frame, else the nearest frame time."""
    n_frames = len(evidence["frame_times_s"])
    if track.frame_indices is not None and len(track.frame_indices) == track.n_frames:
        rows = np.asarray(track.frame_indices, dtype=np.int64)
    else:
        rows = np.abs(evidence["frame_times_s"][None, :] - track.timestamps_s[:, None]).argmin(axis=1)
    if rows.min() < 0 or rows.max() >= n_frames:
        raise ValueError(f"{track.entity_id}: frame {int(rows.max())} outside the evidence's {n_frames} frames")
    return rows


def explain_track(model: ASDModel, track: Track, cfg: EvidenceConfig, *, blank_faces: bool = False
                  ) -> TrackExplanation:
    """SE explanation of a whole store track, in chunks of ``cfg.chunk_frames``; optionally faces blanked."""
    return explain_track_arrays(model, chunk_frames=cfg.chunk_frames,
                                explainer=build_av_explainer(cfg.method, model, cfg.maps),
                                blank=("face",) if blank_faces else (), face=track.face, body=track.body,
                                audio=track.audio, face_boxes=track.face_boxes, body_boxes=track.body_boxes,
                                frame_size=track.frame_size,
                                timestamps_s=track.timestamps_s, fps=track.fps, entity_id=track.entity_id,
                                labels=(track.labels == 1).astype(np.int64))


def _feature_map_shape(model: ASDModel, modality: str, *size: int) -> torch.Size:
    """Shape of ``modality``'s encoder feature map (the map its SE explains) for a zero input of ``size``."""
    encoder = model.encoders[modality]
    probe = torch.zeros(*size, device=next(model.parameters()).device)
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        shape = encoder.feature_map(probe).shape
    encoder.train(was_training)
    return shape


def face_map_cells(model: ASDModel, crop_size: tuple[int, int]) -> tuple[int, int] | None:
    """(h, w) of the face encoder's last feature map (the map the face SE explains) for crops of ``crop_size``
    (h, w); None for a model without a face stream."""
    if "face" not in model.modalities:
        return None
    shape = _feature_map_shape(model, "face", 1, 3, model.config.face_channels, *crop_size)
    return int(shape[-2]), int(shape[-1])


def audio_map_bands(model: ASDModel) -> int | None:
    """F', the frequency size of the audio encoder's map (the map the audio SE explains); None without audio."""
    if "audio" not in model.modalities:
        return None
    return int(_feature_map_shape(model, "audio", 1, 1, model.config.n_audio_features, 32)[2])


def track_row(explanation: TrackExplanation, evidence: TrackEvidence, track: Track, cfg: EvidenceConfig,
              blank: TrackExplanation | None, face_cells: tuple[int, int] | None = None,
              audio_bands: int | None = None) -> dict[str, Any]:
    """Per-track numbers: pointing hits on correct speaking frames, audio mass vs share, face shares.

    With ``face_cells`` also ``mouth_ceiling_hits``: the hits of the best map a feature map of that size can
    give (``metrics.pointing.coarse_map_pointing``), the ceiling of any explainer of that encoder; with
    ``audio_bands`` (F') the same for the audio in time-frequency, ``audio_tf_ceiling_map_{own,any}``
    (``metrics.pointing.coarse_map_mass_ratio`` at (F', T) cells), and ``audio_tf_voices_map_own``: the map
    of every on-screen voice at that size scored on the own voice (what a map that finds the voices but not
    whose they are gets; the audio encoder sees the soundtrack alone)."""
    speaking = track.labels == 1
    correct = speaking & (explanation.scores >= cfg.speaking_threshold)
    row: dict[str, Any] = {"entity_id": track.entity_id, "video_id": track.video_id, "category": track.category,
                           "frames": track.n_frames, "speaking_frames": int(speaking.sum()),
                           "correct_speaking_frames": int(correct.sum())}
    if explanation.face_maps is not None:
        maps = torch.from_numpy(explanation.face_maps)[None]
        masks = torch.from_numpy(evidence.mouth_masks)[None]
        hits = pointing_game(maps, masks, cfg.pointing_tolerance_px)[0].numpy()
        energy = energy_in_mask(maps, masks)[0].numpy()
        row.update(mouth_hits=int(hits[correct].sum()), mouth_energy_sum=float(energy[correct].sum()),
                   mouth_area_sum=float(evidence.mouth_masks[correct].mean(axis=(1, 2)).sum()))
        offset = _peak_offsets(explanation.face_maps[correct], evidence.mouth_masks[correct])
        if offset is not None:
            row.update(mouth_offset_dy=offset[0], mouth_offset_dx=offset[1])
        if face_cells is not None:
            ceiling = coarse_map_pointing(masks, face_cells, cfg.maps.interpolation)[0].numpy()
            row.update(mouth_ceiling_hits=int(ceiling[correct].sum()))
    if explanation.body_maps is not None and evidence.gesture_masks is not None:
        hits = pointing_game(torch.from_numpy(explanation.body_maps)[None],
                             torch.from_numpy(evidence.gesture_masks)[None], cfg.pointing_tolerance_px)[0].numpy()
        row.update(gesture_hits=int(hits[correct].sum()))
    if explanation.audio_attention is not None:
        row.update(_audio_numbers(explanation.audio_attention, evidence))
        if audio_bands is not None:  # the best map of the audio SE's size: (F', T) cells
            for name, region in (("own", evidence.voice_tf_own), ("any", evidence.voice_tf_any)):
                if f"audio_tf_mass_{name}" in row and region is not None and region.any():
                    row[f"audio_tf_ceiling_map_{name}"] = coarse_map_mass_ratio(
                        torch.from_numpy(region), (audio_bands, track.n_frames), cfg.maps.interpolation)
            own, every = evidence.voice_tf_own, evidence.voice_tf_any
            if "audio_tf_mass_own" in row and own is not None and own.any() and every is not None:
                # the audio map is made from the soundtrack alone, the same whichever face it is paired with:
                # the map of every on-screen voice at its size, scored on the own voice, is the reference
                row["audio_tf_voices_map_own"] = coarse_map_mass_ratio(
                    torch.from_numpy(every), (audio_bands, track.n_frames), cfg.maps.interpolation,
                    scored=torch.from_numpy(own))
    if explanation.modality_shares:
        row.update({f"share_{m}": v for m, v in explanation.track_shares.items()})
        if blank is not None:
            row.update({f"blank_share_{m}": v for m, v in blank.track_shares.items()})
    return row


def _peak_offsets(maps: np.ndarray, masks: np.ndarray) -> tuple[float, float] | None:
    """Median (dy, dx) in crop pixels from the mouth box's centre to the map's maximum over the frames (N, H, W)
    with a box; None without any. A map whose maximum misses the box at a fixed offset shows it here."""
    keep = masks.any(axis=(1, 2))
    if not keep.any():
        return None
    maps, masks = maps[keep], masks[keep]
    width = maps.shape[2]
    peak = maps.reshape(len(maps), -1).argmax(axis=1)
    frame, ys, xs = np.nonzero(masks)
    counts = np.bincount(frame, minlength=len(masks))
    cy = np.bincount(frame, weights=ys, minlength=len(masks)) / counts
    cx = np.bincount(frame, weights=xs, minlength=len(masks)) / counts
    return float(np.median(peak // width - cy)), float(np.median(peak % width - cx))


def _audio_numbers(attention: np.ndarray, evidence: TrackEvidence) -> dict[str, float]:
    """Attention mass in voiced frames and those frames' share of the spectrogram, own and any voice, at the
    configured envelope threshold and at each of ``AUDIO_THRESHOLDS``."""
    mass = np.clip(attention, 0, None).sum(axis=0)  # (4T,) mass per audio frame
    total = max(float(mass.sum()), 1e-12)
    out = {}
    for name, voiced in (("own", evidence.voiced_own), ("any", evidence.voiced_any)):
        out[f"audio_mass_{name}"] = float(mass[voiced].sum() / total)
        out[f"audio_share_{name}"] = float(voiced.mean())
    for threshold in AUDIO_THRESHOLDS:
        for name, envelope in (("own", evidence.envelope_own), ("any", evidence.envelope_any)):
            voiced = envelope > threshold
            out[f"audio_mass_{name}@{threshold}"] = float(mass[voiced].sum() / total)
            out[f"audio_share_{name}@{threshold}"] = float(voiced.mean())
    for name, region in (("own", evidence.voice_tf_own), ("any", evidence.voice_tf_any)):
        if region is not None and region.shape == attention.shape:
            out[f"audio_tf_mass_{name}"] = float(np.clip(attention, 0, None)[region].sum() / total)
            out[f"audio_tf_share_{name}"] = float(region.mean())
    return out


@dataclass
class EvidenceResult:
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    config: EvidenceConfig = field(default_factory=EvidenceConfig)


def check_evidence(model: ASDModel, store: TrackStore | str | Path, corpus: str | Path,
                   cfg: EvidenceConfig | None = None, out_dir: str | Path | None = None, *,
                   progress: bool = True, info: dict[str, Any] | None = None) -> EvidenceResult:
    """Run the three checks (module docstring) over the store's tracks; write the report into ``out_dir``."""
    cfg = cfg or EvidenceConfig()
    # the report has no occlusion importance: skip its extra passes (half the run's time)
    cfg = replace(cfg, maps=replace(cfg.maps, occlusion=False))
    store = store if isinstance(store, TrackStore) else TrackStore(store)
    evidence_dir = Path(corpus) / "evidence"
    if not evidence_dir.is_dir():
        raise FileNotFoundError(f"{evidence_dir}: no evidence folder (make the corpus with asd-prep synth)")
    from ..data.evidence import load_evidence

    cache: dict[str, dict[str, Any]] = {}
    cells: dict[tuple[int, int], tuple[int, int] | None] = {}
    bands = audio_map_bands(model)
    ids = store.entity_ids[:cfg.max_tracks] if cfg.max_tracks else store.entity_ids
    rows = []
    for entity_id in tqdm(ids, desc="evidence", unit="track", disable=not progress):
        track = store.read(entity_id)
        if track.video_id not in cache:
            path = evidence_dir / f"{track.video_id}.npz"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no evidence for video {track.video_id} of {store.path}")
            cache = {track.video_id: load_evidence(path)}  # tracks come grouped by video: keep one
        evidence = track_evidence(track, cache[track.video_id], voiced_envelope=cfg.voiced_envelope)
        if getattr(model.config, "audio_feature", "logmel") != "logmel":
            evidence.voice_tf_own = evidence.voice_tf_any = None  # MFCC rows are not frequency bands
        explanation = explain_track(model, track, cfg)
        blank = explain_track(model, track, cfg, blank_faces=True) if explanation.modality_shares else None
        crop = tuple(track.face.shape[1:3])
        if crop not in cells:
            cells[crop] = face_map_cells(model, crop)
        rows.append(track_row(explanation, evidence, track, cfg, blank, cells[crop], bands))
    result = EvidenceResult(rows, summarise(rows), cfg)
    if out_dir is not None:
        write_evidence_report(result, Path(out_dir), info or {})
    return result


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Corpus-level numbers from the per-track rows (frame-weighted where frames are counted)."""
    def total(key: str) -> float:
        return float(sum(r.get(key, 0) for r in rows))

    correct = total("correct_speaking_frames")
    summary: dict[str, Any] = {"tracks": len(rows), "frames": int(total("frames")),
                               "speaking_frames": int(total("speaking_frames")),
                               "correct_speaking_frames": int(correct)}
    if rows and "mouth_hits" in rows[0] and correct:
        summary["mouth_pointing"] = total("mouth_hits") / correct
        summary["mouth_energy"] = total("mouth_energy_sum") / correct
        summary["mouth_area_share"] = total("mouth_area_sum") / correct
        if "mouth_ceiling_hits" in rows[0]:
            summary["mouth_pointing_ceiling"] = total("mouth_ceiling_hits") / correct
        offsets = [(r["mouth_offset_dy"], r["mouth_offset_dx"]) for r in rows if "mouth_offset_dy" in r]
        if offsets:  # the median over tracks of each track's median offset
            summary["mouth_peak_offset_px"] = [float(v) for v in np.median(np.array(offsets), axis=0)]
    if rows and "gesture_hits" in rows[0] and correct:
        summary["gesture_pointing"] = total("gesture_hits") / correct
    for name in ("own", "any"):
        found = _audio_summary(rows, f"audio_mass_{name}", f"audio_share_{name}")
        if found:
            summary[f"audio_{name}"] = found
        found = _audio_summary(rows, f"audio_tf_mass_{name}", f"audio_tf_share_{name}")
        if found:
            at_map = [r[f"audio_tf_ceiling_map_{name}"] for r in rows if f"audio_tf_ceiling_map_{name}" in r]
            if at_map:
                found["ceiling_at_map_size"] = float(np.mean(at_map))  # a mean ratio, over the same tracks
            voices = [r["audio_tf_voices_map_own"] for r in rows if "audio_tf_voices_map_own" in r]
            if name == "own" and voices:
                found["voices_map_at_map_size"] = float(np.mean(voices))
            summary[f"audio_tf_{name}"] = found
        by_threshold = {str(t): _audio_summary(rows, f"audio_mass_{name}@{t}", f"audio_share_{name}@{t}")
                        for t in AUDIO_THRESHOLDS}
        if any(by_threshold.values()):
            summary[f"audio_{name}_by_envelope"] = by_threshold
    blanked = [r for r in rows if "blank_share_face" in r]
    if blanked:
        clean = np.array([r["share_face"] for r in blanked])
        blank = np.array([r["blank_share_face"] for r in blanked])
        summary["face_blanking"] = {"tracks": len(blanked), "face_share": float(clean.mean()),
                                    "face_share_blanked": float(blank.mean()),
                                    "tracks_lowered": float((blank < clean).mean()),
                                    **{f"{m}_share_blanked": float(np.mean([r[f"blank_share_{m}"] for r in blanked]))
                                       for m in ("audio", "body") if f"blank_share_{m}" in blanked[0]}}
    return summary


def _audio_summary(rows: list[dict[str, Any]], mass_key: str, share_key: str) -> dict[str, Any] | None:
    """Mean mass and share over the tracks with voiced frames; their ratio, and the mean per-track ratio.

    ``ceiling`` is the ratio of means of the best possible attention (all its mass in the voiced frames, mass
    1 on every track): 1 / mean share. No attention over these frames can score above it."""
    scored = [r for r in rows if r.get(share_key, 0) > 0]
    if not scored:
        return None
    mass = float(np.mean([r[mass_key] for r in scored]))
    share = float(np.mean([r[share_key] for r in scored]))
    return {"tracks": len(scored), "mass": mass, "share": share, "ratio_of_means": mass / share,
            "mean_ratio": float(np.mean([r[mass_key] / r[share_key] for r in scored])), "ceiling": 1.0 / share}


def write_evidence_report(result: EvidenceResult, out_dir: Path, info: dict[str, Any]) -> None:
    """evidence.json (settings, info, summary, rows), per_track.csv and evidence.md, atomically."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"settings": asdict(result.config), "info": info, "summary": result.summary, "tracks": result.rows}
    atomic_write_text(out_dir / "evidence.json", json.dumps(payload, indent=1, default=str) + "\n")
    atomic_write_text(out_dir / "per_track.csv", pd.DataFrame(result.rows).to_csv(index=False))
    atomic_write_text(out_dir / "evidence.md", evidence_markdown(result.summary, result.config, info))


def evidence_markdown(summary: dict[str, Any], cfg: EvidenceConfig, info: dict[str, Any]) -> str:
    """The summary as a short markdown report."""
    lines = ["# SE explanations against the synthetic corpus's evidence", ""]
    if info:
        lines += [", ".join(f"{k}: `{v}`" for k, v in info.items()), ""]
    lines.append(f"{summary['tracks']} tracks, {summary['frames']} frames, {summary['correct_speaking_frames']} of "
                 f"{summary['speaking_frames']} speaking frames scored >= {cfg.speaking_threshold}.")
    lines.append("")
    if "mouth_pointing" in summary:
        lines.append(f"- face map maximum in the mouth box: {100 * summary['mouth_pointing']:.1f}% of correctly "
                     f"scored speaking frames (tolerance {cfg.pointing_tolerance_px} px; the box covers "
                     f"{100 * summary['mouth_area_share']:.1f}% of the crop; energy in it "
                     f"{100 * summary['mouth_energy']:.1f}%)")
        if "mouth_peak_offset_px" in summary:
            dy, dx = summary["mouth_peak_offset_px"]
            lines.append(f"  - the maximum's offset from the mouth box's centre: dy {dy:+.1f}, dx {dx:+.1f} crop px "
                         "(median over the tracks of each track's median)")
        if "mouth_pointing_ceiling" in summary:
            lines.append(f"  - ceiling at the face encoder's map size: {100 * summary['mouth_pointing_ceiling']:.1f}% "
                         "(the best map of that many cells: each cell = the box's share of it, upsampled the same way)")
    if "gesture_pointing" in summary:
        lines.append(f"- body map maximum in the gesture box: {100 * summary['gesture_pointing']:.1f}%")
    for key, words in (("audio_any", "the voiced frames of whoever speaks on screen"),
                       ("audio_own", "the track's own voiced frames"),
                       ("audio_tf_any", "the time-frequency bins where an on-screen voice dominates"),
                       ("audio_tf_own", "the bins where the track's own voice dominates")):
        if key in summary:
            a = summary[key]
            lines.append(f"- audio attention in {words}: mass {a['mass']:.3f} vs share {a['share']:.3f} "
                         f"(ratio of means {a['ratio_of_means']:.2f}, mean ratio {a['mean_ratio']:.2f}, "
                         f"{a['tracks']} tracks; ceiling {a['ceiling']:.2f}: all mass inside"
                         + (f"; {a['ceiling_at_map_size']:.2f} at the audio map's size" if "ceiling_at_map_size" in a
                            else "")
                         + (f"; {a['voices_map_at_map_size']:.2f} for the map of every on-screen voice at that size"
                            if "voices_map_at_map_size" in a else "") + ")")
    for name in ("any", "own"):
        table = summary.get(f"audio_{name}_by_envelope") or {}
        cells = [f"> {t}: {v['ratio_of_means']:.2f}" for t, v in table.items() if v]
        if cells:
            lines.append(f"  - {name} voice, mass / share by envelope threshold: " + ", ".join(cells))
    if "face_blanking" in summary:
        f = summary["face_blanking"]
        lines.append(f"- blanking the faces: face share {f['face_share']:.3f} -> {f['face_share_blanked']:.3f} "
                     f"(lower on {100 * f['tracks_lowered']:.0f}% of {f['tracks']} tracks)")
    return "\n".join(lines) + "\n"
