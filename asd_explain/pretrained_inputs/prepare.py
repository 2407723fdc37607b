"""A video file -> its face tracks prepared as the authors of Light-ASD / LR-ASD prepare videos in the wild.

Steps: frames at 25 fps (``resample.py``), faces found by the toolkit's detector on every 25 fps frame
(S3FD's weights are not available) and linked by the toolkit's IoU tracker with its own smoothing off
(the authors' tracker only interpolates), the authors' crop (``crop.py``: 13-frame median of box size and
centre, crop scale 0.40, 224 -> centre 112, grey), the track's audio cut from the 16 kHz mono s16
soundtrack (``audio.py``) over ``[first frame time, last frame time + 1/25)`` and its MFCC (``psf_mfcc``).

Per track (``AuthorsTrack``), with ``T`` frames:
  frames (T,) int64 25 fps frame numbers; source_frames (T,) int64 source frame shown; timestamps_s (T,)
  float64; boxes (T, 4) float32 tracker pixel boxes [x1, y1, x2, y2]; crop (``CropWindows``: windows (T, 4)
  frame pixels, frame_to_crop); faces (T, 112, 112) uint8 grey; audio (640 T,) int16 at 16 kHz;
  mfcc (4T, 13) float32.

MFCC length: 640 T samples give ``4T - 1`` python_speech_features frames (the last 10 ms hop has no
complete window). ``mfcc`` rows ``0 .. 4T-2`` are exactly the authors' features; row ``4T-1`` repeats row
``4T-2`` so that every video frame has 4. ``authors_mfcc()`` returns the ``4T - 1`` rows the authors use
(their scorer then drops the track's last video frame, see ``multi_duration.common_length``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.psf_mfcc import psf_mfcc
from ..pipeline.track import FaceTrack
from .audio import AUTHORS_SAMPLE_RATE_HZ, cut_audio, decode_audio_s16
from .crop import AUTHORS_CROP_SCALE, AUTHORS_MEDIAN_FRAMES, CropWindows, authors_face_crop, crop_windows
from .resample import AUTHORS_FPS, Frames25

AUDIO_STARTS = ("stream", "pts")


@dataclass(frozen=True)
class AuthorsPrepConfig:
    """``detect_every``: detector runs every n-th 25 fps frame (1 = every frame, as the authors);
    ``min_track_s``: shortest track kept (the authors keep tracks of >= 10 frames = 0.4 s).
    ``audio_start``: ``stream`` (default): the soundtrack's first sample is at the first frame's time, as
    the authors' pipeline pairs them (``reference_io.pt``'s first face goes with its first audio sample);
    ``pts``: audio placed by presentation timestamps relative to the video stream's start (the store's
    convention). They differ when the streams start at different times (talking_head_1: video 33 ms after
    the audio; with ``stream`` both published models separate its speech better, docs/pretrained.md)."""

    fps: float = AUTHORS_FPS
    resample_rule: str = "display"
    crop_scale: float = AUTHORS_CROP_SCALE
    median_frames: int = AUTHORS_MEDIAN_FRAMES
    detector: str = "dlib"
    detect_every: int = 1
    min_track_s: float = 0.4
    decoder: str = "pyav"
    audio_start: str = "stream"

    def __post_init__(self) -> None:
        if self.audio_start not in AUDIO_STARTS:
            raise ValueError(f"audio_start must be one of {', '.join(AUDIO_STARTS)}, got {self.audio_start!r}")


@dataclass
class AuthorsTrack:
    track_id: int
    frames: np.ndarray
    source_frames: np.ndarray
    timestamps_s: np.ndarray
    boxes: np.ndarray
    crop: CropWindows
    faces: np.ndarray
    audio: np.ndarray
    mfcc: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def authors_mfcc(self) -> np.ndarray:
        """``(4T - 1, 13)``: the MFCC rows the authors compute from this track's audio."""
        return self.mfcc[: 4 * len(self) - 1]


@dataclass
class AuthorsVideo:
    """The prepared tracks of one video and what was done (``info``: detector, frames, tracks...)."""

    path: Path
    fps: float
    frame_size_hw: tuple[int, int]
    tracks: list[AuthorsTrack]
    info: dict = field(default_factory=dict)


def track_mfcc(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """``(640 T,)`` int16 -> ``(4T, 13)`` float32: the authors' ``4T - 1`` rows + the last row repeated."""
    feats = psf_mfcc(audio).astype(np.float32)
    want = 4 * n_frames
    if len(feats) < want:
        feats = np.concatenate([feats, np.repeat(feats[-1:], want - len(feats), axis=0)])
    return feats[:want]


def prepare_authors_tracks(video_path: str | Path, config: AuthorsPrepConfig = AuthorsPrepConfig(), *,
                           tracks: list[FaceTrack] | None = None, progress: bool = True,
                           soundtrack: tuple[np.ndarray, float] | None = None) -> AuthorsVideo:
    """Detect, track, crop and featurise every face track of ``video_path`` the authors' way.

    ``tracks``: face tracks already known on the 25 fps frames (skips detection). ``soundtrack``: the
    video's 16 kHz mono int16 samples and their start time, already decoded (or silence chosen by the
    caller); by default they are decoded here. A video without a face gives no tracks
    (``info["tracks"] == 0``); one whose audio cannot be decoded raises ``AudioDecodeError``.
    """
    from ..media.frames import open_video
    from ..pipeline.tracks_source import detect_face_tracks

    path = Path(video_path)
    # first: a video without usable audio fails before detection
    samples, pts_t0_s = soundtrack if soundtrack is not None else decode_audio_s16(path)
    audio_t0_s = 0.0 if config.audio_start == "stream" else pts_t0_s
    frames = Frames25(open_video(path, config.decoder), config.fps, config.resample_rule)
    info: dict = {"fps": config.fps, "source_fps": float(frames.source.fps), "frames": len(frames),
                  "source_frames": len(frames.source), "resample_rule": config.resample_rule,
                  "audio_start": config.audio_start, "audio_pts_t0_s": round(float(pts_t0_s), 6)}
    if tracks is None:
        tracks, found = detect_face_tracks(frames, detector=config.detector, detect_every=config.detect_every,
                                           min_track_s=config.min_track_s, progress=progress, smooth=1)
        info.update(found)
    info["tracks"] = len(tracks)
    hw = (frames.height, frames.width)
    windows = [crop_windows(t.boxes, hw, config.crop_scale, config.median_frames) for t in tracks]
    faces = _cut_faces(frames, tracks, windows, progress)
    out = []
    for track, window, face in zip(tracks, windows, faces):
        times = frames.frame_times_s[track.frames]
        audio = cut_audio(samples, audio_t0_s, times[0], times[-1] + 1.0 / config.fps, AUTHORS_SAMPLE_RATE_HZ)
        out.append(AuthorsTrack(track.track_id, track.frames.astype(np.int64), frames.source_index[track.frames],
                                times.astype(np.float64), track.boxes.astype(np.float32), window, face, audio,
                                track_mfcc(audio, len(track))))
    return AuthorsVideo(path, config.fps, hw, out, info)


def _cut_faces(frames: Frames25, tracks: list[FaceTrack], windows: list[CropWindows],
               progress: bool) -> list[np.ndarray]:
    """Decode each needed frame once and cut every track's crop from it (an undecodable frame repeats the
    track's previous crop)."""
    faces = [np.zeros((len(t), 112, 112), np.uint8) for t in tracks]
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for k, track in enumerate(tracks):
        for pos, index in enumerate(track.frames.tolist()):
            by_frame.setdefault(index, []).append((k, pos))
    needed = np.array(sorted(by_frame), dtype=np.int64)
    for index, frame in tqdm(frames.iter_frames(needed), total=len(needed), desc="authors' crops",
                             unit="frame", disable=not progress):
        for k, pos in by_frame[index]:
            if frame is not None:
                faces[k][pos] = authors_face_crop(frame, windows[k].windows[pos])
            elif pos:
                faces[k][pos] = faces[k][pos - 1]
    return faces


def authors_mouth_regions(video: AuthorsVideo, landmarks: str = "dlib68", config: AuthorsPrepConfig | None = None,
                          *, progress: bool = True) -> list[np.ndarray]:
    """Per track ``(T, 4)`` mouth regions in its 112 px crop's coordinates (``metrics.mouth``), from the
    landmark model ``landmarks`` run on each 25 fps frame with the track's box (NaN rows: no face found)."""
    from ..media.frames import open_video
    from ..metrics.mouth import mouth_regions
    from ..pipeline.landmarks import make_landmarks, track_mouth_points

    config = config or AuthorsPrepConfig()
    model = make_landmarks(landmarks)
    frames = Frames25(open_video(video.path, config.decoder), config.fps, config.resample_rule)
    out = []
    for track in video.tracks:
        points = track_mouth_points(frames, track.frames, track.boxes, model, progress=progress)
        out.append(mouth_regions(points, track.crop, "dlib68" if landmarks == "dlib68" else "mtcnn"))
    return out
