"""kill -9 in the middle of a preparation run, run again: same content as an uninterrupted run, no finished
track rewritten, and a reader polling the store during the run never sees a partial track."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from asd_explain.data.store import StoreError, TrackStore
from asd_explain.data.track_file import TrackFile
from data_prep.prepare import prepare_store
from data_prep.settings import PrepSettings
from data_prep.synth import generate_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return generate_corpus(tmp_path_factory.mktemp("corpus"), videos=6, seconds=3.0, size=(320, 180), seed=11,
                           workers=1, progress=False)


def hashes(path: Path) -> dict[str, str]:
    store = TrackStore(path)
    return {entity: store.content_hash(entity) for entity in store.entity_ids}


def file_stats(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in (path / "tracks").rglob("*.trk")}


class PollingReader(threading.Thread):
    """Reads and verifies every listed track, again and again, until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.reads, self.errors, self.stop = path, 0, [], threading.Event()

    def run(self) -> None:
        checked: set[str] = set()
        while not self.stop.is_set():
            time.sleep(0.005)
            if not (self.path / "manifest.json").exists():
                continue
            try:
                store = TrackStore(self.path)
            except StoreError as err:
                self.errors.append(str(err))
                continue
            for entity in store.entity_ids:
                if entity in checked:
                    continue
                checked.add(entity)  # a listed track must be complete the first time it is seen
                with TrackFile(store.track_path(entity)) as track_file:
                    if not track_file.verify():
                        self.errors.append(f"{entity}: content hash mismatch")
                track = store.read(entity)
                if track.face.shape[0] != track.n_frames or track.body.shape[0] != track.n_frames:
                    self.errors.append(f"{entity}: crops missing")
                self.reads += 1


def run_and_kill(args: list[str], out: Path, timeout_s: float = 120.0) -> int:
    """Start ``asd-prep`` in a subprocess, SIGKILL it once a first track is indexed; returns tracks listed."""
    process = subprocess.Popen([sys.executable, "-m", "data_prep.cli", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "index").is_dir() and any(p.stat().st_size > 0 for p in (out / "index").glob("*.json")):
                break
            time.sleep(0.005)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    time.sleep(1.0)  # pool workers must die with their parent: nothing may be written after this
    return len(TrackStore(out))


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_resume_equals_an_uninterrupted_run(corpus, tmp_path, workers):
    reference = tmp_path / "reference"
    prepare_store("wasd", corpus / "videos", corpus / "annotations", reference, split="train",
                  settings=PrepSettings(body_source="csv"), body_annotations=corpus / "annotations",
                  progress=False)
    expected = hashes(reference)
    out = tmp_path / "killed"
    args = ["wasd", "--videos", str(corpus / "videos"), "--annotations", str(corpus / "annotations"),
            "--split", "train", "--out", str(out), "--quiet", "--workers", str(workers)]
    reader = PollingReader(out)
    reader.start()
    listed = run_and_kill(args, out)
    survivors = file_stats(out)
    time.sleep(0.5)
    assert file_stats(out) == survivors, "a process kept writing after the kill"
    assert 0 < listed < len(expected), "the kill did not land in the middle of the run"
    result = subprocess.run([sys.executable, "-m", "data_prep.cli", *args], capture_output=True, text=True,
                            timeout=300)
    reader.stop.set()
    reader.join()
    assert result.returncode == 0, result.stderr[-2000:]
    assert hashes(out) == expected
    after = file_stats(out)
    assert all(after[path] == stat for path, stat in survivors.items() if path in after)
    assert reader.errors == [] and reader.reads > 0
    assert not list((out / "tracks").rglob(".*.tmp.*"))
