"""Loader throughput: frames/s of face + body + audio features through a DataLoader with 2 workers.

Ours: ``TrackDataset`` over the track store (one file per track, crops decoded from it) packed by
``FrameBudgetBatchSampler``. Baseline, in the same run on the same crops: the field's layout, one JPEG per
face and per body per frame plus one WAV per track, read with cv2.imread (grey, resized to 112 as TalkNet /
Light-ASD / BIAS do) and the same audio features, same sampler and workers.

    python benchmarks/loader_speed.py                 # makes a synthetic corpus + store in a temp folder
    python benchmarks/loader_speed.py --store STORE   # an existing store
Target: >= 3000 frames/s with 2 workers.
"""
from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.io import wavfile
from torch.utils.data import DataLoader, Dataset

from asd_explain.data.audio_features import AudioFeatureConfig, audio_features
from asd_explain.data.dataset import TrackDataset, collate, normalise_frames
from asd_explain.data.sampler import FrameBudgetBatchSampler
from asd_explain.data.store import TrackStore


def build_store(workdir: Path, videos: int, seconds: float, codec: str) -> Path:
    from data_prep.prepare import prepare_store
    from data_prep.settings import PrepSettings
    from data_prep.synth import generate_corpus

    corpus = workdir / "corpus"
    generate_corpus(corpus, videos=videos, seconds=seconds, size=(640, 360), seed=1, progress=False)
    store = workdir / f"store-{codec}"
    prepare_store("wasd", corpus / "videos", corpus / "annotations", store, split="train", progress=False,
                  settings=PrepSettings(body_source="csv", image_codec=codec),
                  body_annotations=corpus / "annotations", workers=2)
    return store


class JpegFolderDataset(Dataset):
    """The field's layout: <track>/face/<t>.jpg, <track>/body/<t>.jpg, <track>.wav; keys like ours."""

    def __init__(self, root: Path, store: TrackStore) -> None:
        self.root, self.store = root, store
        self.config = AudioFeatureConfig(kind="mfcc")

    @staticmethod
    def export(store: TrackStore, root: Path) -> int:
        total = 0
        for i, entity in enumerate(store.entity_ids):
            track = store.read(entity)
            for name in ("face", "body"):
                folder = root / str(i) / name
                folder.mkdir(parents=True, exist_ok=True)
                for t, image in enumerate(getattr(track, name)):
                    cv2.imwrite(str(folder / f"{t:05d}.jpg"), image)
                    total += (folder / f"{t:05d}.jpg").stat().st_size
            np.save(root / str(i) / "meta.npy", np.stack([track.timestamps_s, track.labels]).astype(np.float64))
            wavfile.write(root / str(i) / "audio.wav", 16000, track.audio)
        return total

    def __len__(self) -> int:
        return len(self.store)

    def _images(self, folder: Path, n: int) -> np.ndarray:
        files = sorted(folder.glob("*.jpg"))[:n]
        return np.stack([cv2.resize(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2GRAY), (112, 112))
                         for f in files])

    def __getitem__(self, key):
        track, _, n_frames, _ = key
        folder = self.root / str(track)
        meta = np.load(folder / "meta.npy")[:, :n_frames]
        _, audio = wavfile.read(folder / "audio.wav")
        fps = self.store.read(self.store.entity_ids[track], 0, 1, modalities=()).fps
        return {
            "entity_id": str(track), "video_id": "", "fps": fps, "timestamps_s": meta[0],
            "labels": (meta[1] == 1).astype(np.int64),
            "face": normalise_frames(self._images(folder / "face", n_frames)),
            "body": normalise_frames(self._images(folder / "body", n_frames)),
            "audio": audio_features(audio, meta[0], fps, self.config),
        }


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its live children (the DataLoader workers), Linux /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in [os.getpid()] + [p.pid for p in multiprocessing.active_children()]:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def throughput(dataset, lengths, workers: int, budget: int, epochs: int) -> tuple[float, float, float]:
    """(frames/s over the timed epochs after one warm-up epoch, seconds of the warm-up epoch, CPU
    microseconds per frame over the timed epochs, main process and workers together)."""
    sampler = FrameBudgetBatchSampler(lengths, budget, seed=0)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers,
                        persistent_workers=workers > 0, prefetch_factor=4 if workers else None)
    started = time.perf_counter()
    for _ in loader:
        pass
    warmup = time.perf_counter() - started
    frames = 0
    cpu_before = _cpu_s()
    started = time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch + 1)
        for batch in loader:
            frames += int(batch["label_mask"].sum())
    rate = frames / (time.perf_counter() - started)
    cpu = (_cpu_s() - cpu_before) / frames * 1e6
    del loader
    gc.collect()
    return rate, warmup, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="Existing store (default: build one from a synthetic corpus).")
    parser.add_argument("--workdir", type=Path, help="Where to build corpus/store/baseline (default: temp).")
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--codec", default="zstd", choices=["zstd", "png", "jpeg", "raw"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--frame-budget", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="loader_speed_"))
    workdir.mkdir(parents=True, exist_ok=True)
    store_path = args.store or build_store(workdir, args.videos, args.seconds, args.codec)
    store = TrackStore(store_path)
    dataset = TrackDataset(store, audio_feature="mfcc")
    track_bytes = sum(os.path.getsize(store.track_path(e)) for e in store.entity_ids)
    print(f"store {store_path}: {len(store)} tracks, {store.n_frames} frames, codec "
          f"{store.settings.get('image_codec')}, {track_bytes / store.n_frames:.0f} bytes/frame, "
          f"{os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    ours, warm, cpu = throughput(dataset, store.lengths, args.workers, args.frame_budget, args.epochs)
    print(f"ours      (track store, {args.workers} workers): {ours:8.0f} frames/s, {cpu:5.0f} CPU-us/frame "
          f"(warm-up epoch {warm:.1f} s)")
    if not args.no_baseline:
        folder = workdir / "jpeg_folders"
        if not folder.exists():
            JpegFolderDataset.export(store, folder)
        base, warm, cpu = throughput(JpegFolderDataset(folder, store), store.lengths, args.workers,
                                     args.frame_budget, args.epochs)
        print(f"baseline  (JPEG per frame, {args.workers} workers): {base:8.0f} frames/s, {cpu:5.0f} CPU-us/frame "
              f"(warm-up epoch {warm:.1f} s)")
        print(f"ratio ours / baseline: {ours / base:.2f}x")
    print(f"target >= 3000 frames/s: {'met' if ours >= 3000 else 'NOT met'} ({ours:.0f}); load average after: "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
