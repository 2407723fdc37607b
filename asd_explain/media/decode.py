"""Reading the source videos: which files, stream facts, nearest frames, and the audio (PyAV, once per video).

Frames are read by :mod:`asd_explain.media.frames`.

Timeline: every time in the toolkit is in seconds from the video stream's first presentation time (the
first frame is at about 0 s), as decord and OpenCV report it. Audio times are moved onto the same timeline
(audio presentation time minus the video stream's start time), so a file whose streams start at 2 s still
gives audio sample k at ``t0_s + k / 16000`` on the frames' timeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy.signal import resample_poly

from ..constants import SAMPLE_RATE_HZ

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def open_av(path: str | Path, *args, **kwargs):
    """``av.open`` with PyAV's Python log callback switched off first.

    Importing torchvision calls ``av.logging.set_level(av.logging.ERROR)``, which installs a callback that
    takes the GIL for every FFmpeg error message, including those that a decoder's worker threads emit
    while the codec context is being freed. The free runs with the GIL held, so it waits for a thread that
    waits for the GIL: the process hangs. With the level at None, FFmpeg messages are dropped in C.
    """
    av.logging.set_level(None)
    return av.open(str(path), *args, **kwargs)


class MediaError(Exception):
    """A video that cannot be used; ``kind`` is the report code (missing_video, corrupt_video, no_audio)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def find_videos(folder: str | Path) -> dict[str, Path]:
    """``{video_id: path}`` for every ``<video_id>.<ext>`` in ``folder`` (ext in VIDEO_EXTENSIONS, first wins)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: videos folder not found")
    found: dict[str, Path] = {}
    rank = {ext: i for i, ext in enumerate(VIDEO_EXTENSIONS)}
    for path in sorted(folder.iterdir()):
        ext = path.suffix.lower()
        if ext in rank and path.is_file():
            current = found.get(path.stem)
            if current is None or rank[ext] < rank[current.suffix.lower()]:
                found[path.stem] = path
    return found


@dataclass(frozen=True)
class StreamInfo:
    """What PyAV's demuxer says about a file, without decoding it."""

    video_start_s: float
    has_audio: bool
    audio_rate_hz: int | None


def probe_streams(path: Path) -> StreamInfo:
    try:
        with open_av(path) as container:
            if not container.streams.video:
                raise MediaError("corrupt_video", f"{path}: no video stream")
            video = container.streams.video[0]
            start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
            audio = container.streams.audio[0] if container.streams.audio else None
            return StreamInfo(start, audio is not None, audio.rate if audio is not None else None)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise MediaError("corrupt_video", f"{path}: cannot open ({err})") from None


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def nearest_frames(frame_times_s: np.ndarray, timestamps_s: np.ndarray, fps: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest real frame of each timestamp: ``(indices (n,) int64, inside (n,) bool)``.

    ``inside`` is False for a timestamp more than one frame duration before the first frame or after the
    last frame's start (the row points past the end of the video).
    """
    pos = np.searchsorted(frame_times_s, timestamps_s)
    right = np.clip(pos, 0, len(frame_times_s) - 1)
    left = np.clip(pos - 1, 0, len(frame_times_s) - 1)
    use_left = np.abs(timestamps_s - frame_times_s[left]) <= np.abs(frame_times_s[right] - timestamps_s)
    indices = np.where(use_left, left, right).astype(np.int64)
    period = 1.0 / fps
    inside = (timestamps_s >= frame_times_s[0] - period) & (timestamps_s <= frame_times_s[-1] + period)
    return indices, inside


def _frame_samples(frame: av.AudioFrame) -> np.ndarray:
    """(channels, samples) float32 in [-1, 1] of one decoded audio frame, whatever its sample format."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    kind = data.dtype
    if kind == np.int16:
        return data.astype(np.float32) / 32768.0
    if kind == np.int32:
        return (data / 2147483648.0).astype(np.float32)
    if kind == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32)


@dataclass(frozen=True)
class DecodedAudio:
    """Mono audio on the frames' timeline: sample ``k`` at ``t0_s + k / rate``; ``damaged_packets`` packets
    could not be decoded and their ``lost_s`` seconds are silence at their place in time."""

    samples: np.ndarray
    t0_s: float
    lost_s: float = 0.0
    damaged_packets: int = 0

    def note(self) -> str:
        """One line for reports ('' when nothing was lost)."""
        if not self.damaged_packets:
            return ""
        return (f"{self.damaged_packets} damaged audio packet(s) skipped: {self.lost_s:.3f} s of audio lost, "
                f"filled with silence at their time")


def decode_audio(path: Path, start_s: float, end_s: float, video_start_s: float = 0.0,
                 sample_rate_hz: int = SAMPLE_RATE_HZ, *, seek: bool = True) -> tuple[np.ndarray, float]:
    """Mono audio covering ``[start_s, end_s]`` (as far as the file has it): ``(samples (N,) float32, t0_s)``.

    ``decode_audio_checked`` without the damage count (see there).
    """
    decoded = decode_audio_checked(path, start_s, end_s, video_start_s, sample_rate_hz, seek=seek)
    return decoded.samples, decoded.t0_s


def decode_audio_checked(path: Path, start_s: float, end_s: float, video_start_s: float = 0.0,
                         sample_rate_hz: int = SAMPLE_RATE_HZ, *, seek: bool = True) -> DecodedAudio:
    """Mono audio covering ``[start_s, end_s]`` (as far as the file has it), and what was lost.

    Times are on the frames' timeline (see module doc); sample ``k`` is at ``t0_s + k / sample_rate_hz``.
    Decodes from the last seek point before ``start_s`` (one pass), packet by packet: a packet the decoder
    refuses is skipped and counted (its duration is the lost time), and every decoded frame is placed at
    its presentation time, so a gap left by a lost packet becomes silence at the right place and the rest
    stays aligned. Channels are mixed by averaging and resampled with a polyphase filter (scipy
    ``resample_poly``), which keeps the time of sample 0.
    """
    try:
        container = open_av(path)
    except (av.FFmpegError, OSError) as err:
        raise MediaError("corrupt_video", f"{path}: cannot open ({err})") from None
    with container:
        if not container.streams.audio:
            raise MediaError("no_audio", f"{path}: video has no audio track")
        stream = container.streams.audio[0]
        abs_start = start_s + video_start_s
        seek = seek and abs_start > 2.0
        if seek:
            container.seek(int((abs_start - 1.0) / stream.time_base), stream=stream, backward=True)
        timeline = _AudioTimeline(video_start_s, float(stream.time_base))
        overshot = timeline.read(container, stream, end_s, start_s if seek else None)
    if overshot:  # the seek landed after start_s: decode from the beginning instead
        return decode_audio_checked(path, start_s, end_s, video_start_s, sample_rate_hz, seek=False)
    if not timeline.pieces:
        if timeline.error is not None:
            raise MediaError("corrupt_video", f"{path}: audio cannot be decoded ({timeline.error})")
        raise MediaError("no_audio", f"{path}: audio track has no samples")
    samples = np.concatenate(timeline.pieces)
    ratio = Fraction(sample_rate_hz, timeline.rate)
    if ratio != 1:
        samples = resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)
    return DecodedAudio(samples, timeline.t0, timeline.lost_s, timeline.damaged)


class _AudioTimeline:
    """Decoded frames laid end to end, with silence where presentation times jump ahead (a lost packet)."""

    def __init__(self, video_start_s: float, time_base: float) -> None:
        self.video_start_s, self.time_base = video_start_s, time_base
        self.pieces: list[np.ndarray] = []
        self.t0: float | None = None
        self.rate = 0
        self.length = 0  # samples so far
        self.damaged, self.lost_s, self.error = 0, 0.0, None
        self._unknown_loss = False  # a damaged packet without a duration: its gap is the loss

    def read(self, container, stream, end_s: float, seek_start_s: float | None) -> bool:
        """Decode packets up to ``end_s``; True when a seek overshot ``seek_start_s``."""
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError as err:
                    self._damaged(packet, err)
                    continue
                for frame in frames:
                    if frame.pts is None:
                        continue
                    t = float(frame.pts) * self.time_base - self.video_start_s
                    if self.t0 is None:
                        if seek_start_s is not None and t > seek_start_s:
                            return True
                        self.t0, self.rate = t, frame.sample_rate
                    self._place(t, _frame_samples(frame).mean(axis=0))
                    if t > end_s:
                        return False
        except av.FFmpegError as err:  # the container itself is damaged from here on: keep what came before
            self.error = err
        return False

    def _damaged(self, packet, err: Exception) -> None:
        self.damaged += 1
        self.error = err
        if packet.duration:
            self.lost_s += float(packet.duration) * self.time_base
        else:
            self._unknown_loss = True

    def _place(self, t: float, samples: np.ndarray) -> None:
        position = int(round((t - self.t0) * self.rate))
        gap = position - self.length
        if gap > max(2, len(samples) // 2):  # a lost stretch (small pts jitter is ignored)
            self.pieces.append(np.zeros(gap, np.float32))
            self.length += gap
            if self._unknown_loss:
                self.lost_s += gap / self.rate
        self._unknown_loss = False
        self.pieces.append(samples)
        self.length += len(samples)


def track_audio(audio: np.ndarray, audio_t0_s: float, timestamps_s: np.ndarray, fps: float,
                sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """``(N,) int16`` audio of a track (``audio`` float at ``sample_rate_hz`` with sample 0 at ``audio_t0_s``):
    sample 0 at ``timestamps_s[0] - 0.5 / fps`` (zeros where none)."""
    start_s = float(timestamps_s[0]) - 0.5 / fps
    length = int(round((float(timestamps_s[-1]) - float(timestamps_s[0]) + 1.0 / fps) * sample_rate_hz))
    first = int(round((start_s - audio_t0_s) * sample_rate_hz))
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(first, 0), min(first + length, len(audio))
    if hi > lo:
        out[lo - first:hi - first] = audio[lo:hi]
    return np.clip(np.round(out * 32767.0), -32768, 32767).astype(np.int16)
