"""Unlabelled videos -> face tracks prepared the authors' way, cached once per run folder.

Each video is prepared by ``prepare_authors_tracks`` (25 fps, face tracks, 13-frame median smoothing, crop
scale 0.40 -> grey 112 crops, 16 kHz track audio + psf MFCC). A video without an audio track is still
used: its tracks get silent audio and ``has_audio = False``, and training always pairs them with another
track's audio or with silence (they are real faces, not a speaker to copy).

Face augmentation is done here, once: the visual encoder is frozen and the face SE block sits after it,
so each track's encoder maps are computed for ``K`` versions of its crops (as is, then flipped / shifted /
scaled / grey-level changed, one draw per version, ``augment.augment_faces``) and stored (float16).
Training then runs only the audio encoder and the small part after the SE blocks, live, which makes a step
~40x cheaper than running the visual encoder on every clip.

Cache (in ``RUN/tracks/``): one ``<video key>.json`` per video (what was found, or why it was skipped) and
one ``<video key>_t<track>.npz`` per kept track: faces (T, 112, 112) uint8, audio (640 T,) int16, mfcc
(4T, 13) float32, has_audio () - all independent of the model; and per model (``<tag>`` = name + the
weights' sha256 prefix) ``<video key>_t<track>_<tag>_maps<K>_s<seed>.npz``: face_maps and teacher_logits
(T, 2) float32 (the published model's whole-track forward, in windows of at most
``TEACHER_WINDOW_FRAMES``). A bad video is reported (one line) and skipped.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ..config import atomic_write_text
from ..pretrained_inputs.audio import AudioDecodeError
from ..pretrained_inputs.prepare import AuthorsPrepConfig, prepare_authors_tracks, track_mfcc
from .track import SAMPLES_PER_FRAME, Track

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
TEACHER_WINDOW_FRAMES = 750  # 30 s


def find_videos(paths: Iterable[str | Path]) -> list[Path]:
    """Files given, and every video file under the folders given (recursively), sorted, no duplicates."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such video file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def video_key(path: Path) -> str:
    """Cache name of a video: its stem + 10 hex digits of its resolved path and size."""
    digest = hashlib.sha256(f"{path.resolve()}:{path.stat().st_size}".encode()).hexdigest()[:10]
    return f"{path.stem}-{digest}"


def prepare_video(path: Path, prep: AuthorsPrepConfig, progress: bool) -> tuple[list, bool]:
    """The authors' tracks of one video and whether it has audio (silent tracks when it has none)."""
    try:
        return prepare_authors_tracks(path, prep, progress=progress).tracks, True
    except AudioDecodeError:
        pass
    from ..media.frames import open_video
    from ..pipeline.tracks_source import detect_face_tracks
    from ..pretrained_inputs.crop import crop_windows
    from ..pretrained_inputs.prepare import _cut_faces  # the same crops, without the soundtrack
    from ..pretrained_inputs.resample import Frames25

    frames = Frames25(open_video(path, prep.decoder), prep.fps, prep.resample_rule)
    found, _ = detect_face_tracks(frames, detector=prep.detector, detect_every=prep.detect_every,
                                  min_track_s=prep.min_track_s, progress=progress, smooth=1)
    windows = [crop_windows(t.boxes, (frames.height, frames.width), prep.crop_scale, prep.median_frames)
               for t in found]
    faces = _cut_faces(frames, found, windows, progress)
    return [SilentTrack(t.track_id, f, np.zeros(SAMPLES_PER_FRAME * len(f), np.int16))
            for t, f in zip(found, faces)], False


@dataclass
class SilentTrack:
    """A prepared track of a video without sound: faces (T, 112, 112) uint8, silent audio (640 T,)."""

    track_id: int
    faces: np.ndarray
    audio: np.ndarray

    def __len__(self) -> int:
        return len(self.faces)


@torch.no_grad()
def whole_track_logits(model, faces: np.ndarray, mfcc: np.ndarray) -> np.ndarray:
    """(T, 2) logits of ``model`` on a track, in consecutive windows of at most TEACHER_WINDOW_FRAMES."""
    out = []
    for start in range(0, len(faces), TEACHER_WINDOW_FRAMES):
        stop = min(start + TEACHER_WINDOW_FRAMES, len(faces))
        face = model.preprocessing.normalise_faces(torch.from_numpy(faces[start:stop]))[None]
        audio = torch.from_numpy(mfcc[4 * start:4 * stop])[None]
        out.append(model(face=face.to(model.device), audio=audio.to(model.device))["logits"][0].float().cpu())
    return torch.cat(out).numpy()


def load_or_prepare(videos: list[Path], cache_dir: Path, *, min_frames: int,
                    prep: AuthorsPrepConfig | None = None, progress: bool = True,
                    report: Callable[[str], None] = print) -> list[Track]:
    """Every kept track of ``videos``, prepared on first use and read from ``cache_dir`` afterwards."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    prep = prep or AuthorsPrepConfig()
    tracks: list[Track] = []
    for path in videos:
        key = video_key(path)
        index = cache_dir / f"{key}.json"
        if not index.exists():
            _prepare_into_cache(path, key, cache_dir, min_frames, prep, progress, report)
        info = json.loads(index.read_text()) if index.exists() else {"tracks": []}
        for name in info["tracks"]:
            with np.load(cache_dir / name) as data:
                tracks.append(Track(name, str(path), data["faces"], data["audio"], data["mfcc"],
                                    bool(data["has_audio"])))
    return tracks


def _prepare_into_cache(path: Path, key: str, cache_dir: Path, min_frames: int,
                        prep: AuthorsPrepConfig, progress: bool, report: Callable[[str], None]) -> None:
    try:
        prepared, has_audio = prepare_video(path, prep, progress)
    except Exception as err:  # a bad video is reported and skipped; the next run tries it again
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        report(f"{path}: skipped ({first})")
        return
    names = []
    for track in prepared:
        if len(track) < min_frames:
            continue
        name = f"{key}_t{track.track_id}.npz"
        _atomic_savez(cache_dir / name, faces=track.faces, audio=track.audio,
                      mfcc=track_mfcc(track.audio, len(track)), has_audio=np.array(has_audio))
        names.append(name)
    report(f"{path}: {len(names)} track(s) of >= {min_frames} frames ({len(prepared)} found)"
           + ("" if has_audio else ", no audio track: faces only"))
    atomic_write_text(cache_dir / f"{key}.json", json.dumps(
        {"video": str(path), "has_audio": has_audio, "found": len(prepared), "tracks": names}, indent=1))


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


@torch.no_grad()
def face_map_variants(model, faces: np.ndarray, variants: int, rng: np.random.Generator, augment,
                      window_frames: int = TEACHER_WINDOW_FRAMES) -> np.ndarray:
    """(T, 112, 112) uint8 -> (variants, T, 128, 14, 14) float16 encoder maps: as is, then augmented."""
    from .augment import augment_faces
    from .forward import face_feature_map

    out = []
    for v in range(variants):
        crops = faces if v == 0 else augment_faces(faces, rng, augment)
        pieces = []
        for start in range(0, len(crops), window_frames):
            face = model.preprocessing.normalise_faces(torch.from_numpy(crops[start:start + window_frames]))[None]
            pieces.append(face_feature_map(model, face.to(model.device))[0].transpose(0, 1).half().cpu())
        out.append(torch.cat(pieces).numpy())
    return np.stack(out)


def attach_face_maps(tracks: list[Track], cache_dir: Path, model, tag: str, variants: int, seed: int, augment,
                     progress: bool = True) -> None:
    """Fill ``track.face_maps`` and ``track.teacher_logits`` from ``<track>_<tag>_maps<K>_s<seed>.npz`` or
    compute and store them (``tag`` names the model and its weights)."""
    from tqdm import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    for track in tqdm(tracks, desc="face maps", unit="track", disable=not progress):
        path = cache_dir / f"{Path(track.name).stem}_{tag}_maps{variants}_s{seed}.npz"
        if path.exists():
            with np.load(path) as data:
                track.face_maps, track.teacher_logits = data["face_maps"], data["teacher_logits"]
            continue
        digest = int(hashlib.sha256(track.name.encode()).hexdigest()[:8], 16)
        track.face_maps = face_map_variants(model, track.faces, variants,
                                            np.random.default_rng([seed, digest]), augment)
        track.teacher_logits = _teacher_whole_track(model, track)
        _atomic_savez(path, face_maps=track.face_maps, teacher_logits=track.teacher_logits)


@torch.no_grad()
def _teacher_whole_track(model, track: Track) -> np.ndarray:
    """(T, 2) the published model's logits (SE bypassed) on a whole track, in windows."""
    from .forward import FeatureMaps, audio_feature_map, face_feature_map, teacher_logits

    out = []
    for start in range(0, len(track), TEACHER_WINDOW_FRAMES):
        stop = min(start + TEACHER_WINDOW_FRAMES, len(track))
        face = model.preprocessing.normalise_faces(torch.from_numpy(track.faces[start:stop]))[None]
        mfcc = torch.from_numpy(track.mfcc[4 * start:4 * stop])[None].float()
        maps = FeatureMaps(face_feature_map(model, face.to(model.device)),
                           audio_feature_map(model, mfcc.to(model.device)))
        out.append(teacher_logits(model, maps)[0].float().cpu())
    return torch.cat(out).numpy()
