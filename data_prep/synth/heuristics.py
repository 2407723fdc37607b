"""Three evidence-free active-speaker heuristics: proof that the corpus needs both senses.

They read only what a model would read: the MP4 (frames with decord, audio with decord.AudioReader)
and the face boxes of the merged AVA CSV. Per face row:
    visual-only   mouth motion energy: mean absolute change of the mouth crop, smoothed over ~0.3 s
    audio-only    loudness of the speech band of the soundtrack around that frame (same for every face)
    audio-visual  Pearson correlation, over a 2 s window, of the mouth crop's distance from its median
                  (its opening) with the speech-band envelope, times the square root of the mouth
                  motion above the track's resting level (10th percentile).
The mouth crop is the lower third (middle half) of the face box, grey, resized to 24x12.
Scored with the official AVA AP over all rows (asd_explain.metrics.ava_ap).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.metrics.ava_ap import average_precision

CROP_W, CROP_H = 24, 12
CORR_WINDOW_S = 2.0


@dataclass
class HeuristicScores:
    visual: np.ndarray  # (R,) per merged-CSV row
    audio: np.ndarray
    audio_visual: np.ndarray
    positives: np.ndarray  # (R,) bool, label == SPEAKING_AUDIBLE

    def average_precisions(self) -> dict[str, float]:
        return {name: average_precision(getattr(self, name), self.positives)
                for name in ("visual", "audio", "audio_visual")}


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return x
    k = np.ones(n) / n
    return np.convolve(np.pad(x, (n // 2, n - 1 - n // 2), mode="edge"), k, mode="valid")


def _windowed_corr(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """(F,) Pearson correlation of a and b over centred windows of n samples."""
    ma, mb = _smooth(a, n), _smooth(b, n)
    cov = _smooth(a * b, n) - ma * mb
    va = np.maximum(_smooth(a * a, n) - ma * ma, 0)
    vb = np.maximum(_smooth(b * b, n) - mb * mb, 0)
    return cov / np.sqrt(va * vb + 1e-12)


def speech_envelope(samples: np.ndarray, sample_rate_hz: int, frame_times_s: np.ndarray, fps: float) -> np.ndarray:
    """(F,) RMS of the 300-3400 Hz band in one frame period around each frame time."""
    sos = butter(4, [300, 3400], btype="bandpass", fs=sample_rate_hz, output="sos")
    band = sosfiltfilt(sos, samples.astype(np.float64))
    half = int(sample_rate_hz / fps / 2)
    centres = np.round(frame_times_s * sample_rate_hz).astype(int)
    power = np.concatenate([[0.0], np.cumsum(band**2)])
    lo = np.clip(centres - half, 0, len(band))
    hi = np.clip(centres + half, 0, len(band))
    return np.sqrt((power[hi] - power[lo]) / np.maximum(hi - lo, 1))


def mouth_crops(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(F, 12, 24) float grey crops of the lower third, middle half of each face box (F, 4) normalised."""
    _, height, width, _ = frames.shape
    out = np.zeros((len(boxes), CROP_H, CROP_W), dtype=np.float32)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        w, h = x2 - x1, y2 - y1
        cx1, cx2 = int((x1 + w / 4) * width), int(np.ceil((x1 + 3 * w / 4) * width))
        cy1, cy2 = int((y1 + 2 * h / 3) * height), int(np.ceil(y2 * height))
        crop = frames[i, max(cy1, 0):max(cy2, cy1 + 1), max(cx1, 0):max(cx2, cx1 + 1)]
        if crop.size:
            grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
            out[i] = cv2.resize(grey, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    return out


def _track_signals(crops: np.ndarray, envelope: np.ndarray, fps: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visual motion, AV correlation >= 0, motion above rest) (F,) of one track: crops (F, 12, 24), envelope (F,)."""
    motion = np.abs(np.diff(crops, axis=0, prepend=crops[:1])).mean(axis=(1, 2))
    visual = _smooth(motion, max(1, int(round(0.3 * fps))))
    opening = np.abs(crops - np.median(crops, axis=0)).mean(axis=(1, 2))
    corr = _windowed_corr(opening, envelope, max(3, int(round(CORR_WINDOW_S * fps))))
    moving = np.clip(visual - np.percentile(visual, 10), 0, None)  # motion above the track's resting level
    return visual, np.clip(corr, 0, None), moving


def score_video(video_path: Path, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visual, audio, audio_visual) scores for ``rows`` (one video's rows of a merged CSV)."""
    import decord

    reader = decord.VideoReader(str(video_path))
    fps = reader.get_avg_fps()
    audio = decord.AudioReader(str(video_path), sample_rate=SAMPLE_RATE_HZ, mono=True)[:].asnumpy()[0]
    frame_idx = np.clip(np.round(rows["frame_timestamp"].to_numpy() * fps).astype(int), 0, len(reader) - 1)
    used = np.unique(frame_idx)
    frames = reader.get_batch(list(used)).asnumpy()
    pos = np.searchsorted(used, frame_idx)
    times = used / fps
    env_used = speech_envelope(audio, SAMPLE_RATE_HZ, times, fps)
    envelope = env_used[pos]
    audio_score = _smooth(env_used, max(1, int(round(0.3 * fps))))[pos]
    visual, corr, moving = (np.zeros(len(rows)) for _ in range(3))
    boxes = rows[["entity_box_x1", "entity_box_y1", "entity_box_x2", "entity_box_y2"]].to_numpy()
    for _, idx in rows.groupby("entity_id", sort=False).indices.items():
        idx = idx[np.argsort(frame_idx[idx], kind="stable")]
        crops = mouth_crops(frames[pos[idx]], boxes[idx])
        visual[idx], corr[idx], moving[idx] = _track_signals(crops, envelope[idx], fps)
    scale = np.percentile(visual, 95) + 1e-9  # per video, so that videos compare
    return visual / scale, audio_score / (np.percentile(audio_score, 95) + 1e-9), corr * np.sqrt(moving / scale)


def score_corpus(corpus_dir: str | Path, split: str = "train") -> HeuristicScores:
    """Scores of the three heuristics for every row of ``<split>_orig.csv``, in file order."""
    corpus_dir = Path(corpus_dir)
    table = pd.read_csv(corpus_dir / "annotations" / f"{split}_orig.csv")
    visual, audio, av = (np.zeros(len(table)) for _ in range(3))
    for video_id, idx in table.groupby("video_id", sort=False).indices.items():
        v, a, x = score_video(corpus_dir / "videos" / f"{video_id}.mp4", table.iloc[idx])
        visual[idx], audio[idx], av[idx] = v, a, x
    return HeuristicScores(visual, audio, av, (table["label"] == "SPEAKING_AUDIBLE").to_numpy())


def main(argv: list[str] | None = None) -> None:
    """``python -m data_prep.synth.heuristics CORPUS [--split S]``: the three APs, overall and per category."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="train")
    args = parser.parse_args(argv)
    scores = score_corpus(args.corpus, args.split)
    table = pd.read_csv(args.corpus / "annotations" / f"{args.split}_orig.csv", usecols=["video_id"])
    category = table["video_id"].map(pd.read_csv(args.corpus / "metadata.csv").set_index("video_id")["category"])
    names = ("visual", "audio", "audio_visual")
    print(f"{'subset':8s} {'rows':>7s} " + " ".join(f"{n:>13s}" for n in names))
    for subset in ["all", *sorted(category.unique())]:
        sel = np.ones(len(table), bool) if subset == "all" else (category == subset).to_numpy()
        aps = [average_precision(getattr(scores, n)[sel], scores.positives[sel]) for n in names]
        print(f"{subset:8s} {int(sel.sum()):7d} " + " ".join(f"{ap:13.3f}" for ap in aps))


if __name__ == "__main__":
    main()
