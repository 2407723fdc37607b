"""Checks of a distilled model on a real clip with known speech: agreement with the teacher, speaking-vs-
silence AUC, and whether the face heatmap's maximum lies on the mouth.

Input: a track prepared by ``asd-explain prep-authors VIDEO --out DIR --landmarks dlib68`` (``track_<id>.npz``
with the authors' crops, MFCC and mouth regions in crop coordinates) and the clip's speech segments
(``"0-2.5,3.5-4.7"`` seconds). Frame labels: a frame is speaking when its time lies in a segment.

Scores (speaking logit, class 1) of teacher (published model, SE bypassed) and student (with the distilled
SE blocks), both from the same encoder maps: ``plain`` = one forward over the whole track; ``authors`` = the
authors' multi-duration averaging (windows of 1..6 s, ``AUTHORS_DURATIONS_S``, the authors' trim).

Face heatmaps (whole-track forward, per frame, 112 px; ``maps.face_heatmaps``), each scored by mouth pointing
on speaking frames with a mouth region (``metrics.mouth.mouth_pointing``), and on the lip landmarks' own
box (``pointing_lips``, the region before it was grown: a stricter target). Variants (``maps.py``): the toolkit's
``MapSettings`` applied to the face block, and two baselines without SE (``maps.MAP_VARIANTS``).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from ..explain.se_maps import DEFAULT_Z, select_channels
from ..metrics.mouth import mouth_pointing
from ..pretrained_inputs.multi_duration import AUTHORS_DURATIONS_S, common_length, window_starts
from .evaluation import agreement
from .forward import FeatureMaps, audio_feature_map, face_feature_map, student_logits, teacher_logits
from .maps import MAP_VARIANTS, face_heatmaps


def parse_segments(text: str) -> list[tuple[float, float]]:
    """``"0-2.5,3.5-4.7"`` -> [(0.0, 2.5), (3.5, 4.7)]."""
    out = []
    for part in text.split(","):
        lo, hi = part.strip().split("-")
        out.append((float(lo), float(hi)))
    return out


def speech_labels(times_s: np.ndarray, segments: list[tuple[float, float]]) -> np.ndarray:
    """(T,) bool: frame time inside any segment."""
    times = np.asarray(times_s, np.float64)
    return np.any([(times >= lo) & (times < hi) for lo, hi in segments], axis=0)


@torch.no_grad()
def paired_logits(model, faces: np.ndarray, mfcc: np.ndarray) -> tuple[np.ndarray, np.ndarray, FeatureMaps]:
    """Whole-track teacher and student speaking logits (T,), (T,) and the maps they came from."""
    face = model.preprocessing.normalise_faces(torch.from_numpy(faces))[None].to(model.device)
    maps = FeatureMaps(face_feature_map(model, face), audio_feature_map(model, torch.from_numpy(mfcc)[None].float()))
    student, _ = student_logits(model, maps)
    return teacher_logits(model, maps)[0, :, 1].numpy(), student[0, :, 1].numpy(), maps


@torch.no_grad()
def paired_authors_scores(model, faces: np.ndarray, mfcc: np.ndarray,
                          durations_s=AUTHORS_DURATIONS_S, fps: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """The authors' multi-duration scores of teacher and student, (T',) each (T' = their trim)."""
    n = common_length(len(faces), len(mfcc), fps)
    runs_t, runs_s = [], []
    for duration in durations_s:
        pieces_t, pieces_s = [], []
        for start, stop in window_starts(n, int(round(duration * fps))):
            t, s, _ = paired_logits(model, faces[start:stop], mfcc[4 * start:4 * stop])
            pieces_t.append(t)
            pieces_s.append(s)
        runs_t.append(np.concatenate(pieces_t))
        runs_s.append(np.concatenate(pieces_s))
    return np.mean(runs_t, 0), np.mean(runs_s, 0)


def check_track(model, track_path: str | Path, segments: list[tuple[float, float]],
                variants=MAP_VARIANTS, authors: bool = True) -> dict:
    """All checks on one prepared track (see the module docstring); a dict of plain numbers."""
    from ..pretrained_inputs.export import load_authors_track

    track, regions = load_authors_track(track_path)
    labels = speech_labels(track.timestamps_s, segments)
    teacher, student, maps = paired_logits(model, track.faces, track.mfcc)
    out: dict = {"track": str(track_path), "frames": len(track), "speaking_frames": int(labels.sum()),
                 "plain": _scores(teacher, student, labels)}
    if authors:
        t, s = paired_authors_scores(model, track.faces, track.authors_mfcc())
        out["authors"] = _scores(t, s, labels[:len(t)])
    gate = model.se_blocks()["face"].gate(maps.face)
    kept, _ = select_channels(gate, z=DEFAULT_Z)
    out["face_kept_channels_mean"] = float(kept.float().sum(1).mean())
    if regions is None:
        out["pointing"] = "no mouth regions in the track file (prep-authors --landmarks dlib68)"
        return out
    speaking = labels & np.isfinite(regions).all(1)
    area = (regions[:, 2] - regions[:, 0] + 1) * (regions[:, 3] - regions[:, 1] + 1) / 112.0 ** 2
    out["mouth_region_area_fraction"] = float(np.nanmean(np.where(speaking, area, np.nan)))
    lips = lip_boxes(regions)
    out["pointing"], out["pointing_lips"] = {}, {}
    for variant in variants:
        heat = face_heatmaps(model, maps, variant)
        for key, boxes in (("pointing", regions), ("pointing_lips", lips)):
            hits, _ = mouth_pointing(heat, boxes)
            out[key][variant] = float(hits[speaking].mean()) if speaking.any() else float("nan")
    out["pointing_frames"] = int(speaking.sum())
    return out


def lip_boxes(regions: np.ndarray) -> np.ndarray:
    """The lip landmarks' own box from the mouth region (which is that box grown by half its height on
    every side, so its height is twice the box's): a stricter target."""
    regions = np.asarray(regions, np.float64)
    shrink = (regions[:, 3] - regions[:, 1])[:, None] / 4
    return regions + np.concatenate([shrink, shrink, -shrink, -shrink], axis=1)


def _scores(teacher: np.ndarray, student: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    out = agreement(student, teacher)
    both = labels.any() and (~labels).any()
    out["auc_teacher"] = float(roc_auc_score(labels, teacher)) if both else float("nan")
    out["auc_student"] = float(roc_auc_score(labels, student)) if both else float("nan")
    return out


@click.command()
@click.option("--checkpoint", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--track", "tracks", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="track_<id>.npz from asd-explain prep-authors --landmarks dlib68 (repeat).")
@click.option("--speech", "speech", multiple=True, required=True, help="Speech segments per track, 'a-b,c-d' s.")
@click.option("--no-authors", is_flag=True, help="Skip the multi-duration scores.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the results as JSON.")
def main(checkpoint, tracks, speech, no_authors, out) -> None:
    """python -m asd_explain.distill.real_check --checkpoint RUN/checkpoints/best.pt --track T --speech S ..."""
    from .checkpoint import load_distilled

    if len(speech) != len(tracks):
        raise click.UsageError("give one --speech per --track")
    torch.set_num_threads(2)
    model = load_distilled(checkpoint)
    results = [check_track(model, t, parse_segments(s), authors=not no_authors) for t, s in zip(tracks, speech)]
    text = json.dumps(results, indent=1)
    click.echo(text)
    if out:
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    main()
