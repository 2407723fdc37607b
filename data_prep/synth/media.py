"""One MP4 file: H.264 (libx264, yuv420p) video + AAC mono audio, written with PyAV.

Frames are passed one at a time (an iterator), so a video is never held in memory whole. Video
time base is 1/fps exactly (30000/1001 for 29.97), frame i has pts i. The file is written under a
temporary name and renamed when complete. Same frames -> same bitstream (see ``write_mp4``).
"""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from asd_explain.atomic import atomic_path
from asd_explain.media.decode import open_av

AUDIO_FRAME_SAMPLES = 1024


def write_mp4(path: Path, frames: Iterable[np.ndarray], audio: np.ndarray, *, fps: Fraction, width: int,
              height: int, sample_rate_hz: int, crf: int = 22, preset: str = "veryfast") -> int:
    """Encode RGB frames (H, W, 3) uint8 and mono float32 ``audio`` (N,) into ``path``; returns frame count."""
    count = 0
    with atomic_path(path) as tmp:
        with open_av(tmp, mode="w", format="mp4") as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.time_base = Fraction(fps.denominator, fps.numerator)
            # one thread and no macroblock-tree: with mb-tree, x264 (as bundled by PyAV 18) gave two
            # different bitstreams for the same frames at 320x180 within one process; without it the
            # output is the same on every call (checked by tests/test_synth_determinism.py)
            video.options = {"preset": preset, "crf": str(crf), "threads": "1", "x264-params": "no-mbtree=1"}
            sound = container.add_stream("aac", rate=sample_rate_hz)
            sound.layout = "mono"
            sound.bit_rate = 64000
            samples = np.ascontiguousarray(np.clip(audio, -1.0, 1.0), dtype=np.float32)
            cursor = 0
            for img in frames:
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = count
                container.mux(video.encode(frame))
                count += 1
                cursor = _encode_audio(container, sound, samples, cursor, int(count * sample_rate_hz / fps))
            container.mux(video.encode(None))
            _encode_audio(container, sound, samples, cursor, len(samples))
            container.mux(sound.encode(None))
    return count


def _encode_audio(container, stream, samples: np.ndarray, cursor: int, until: int) -> int:
    """Encode whole 1024-sample frames of ``samples`` from ``cursor`` up to ``until``; returns the new cursor."""
    until = min(until, len(samples))
    while cursor < until and (until - cursor >= AUDIO_FRAME_SAMPLES or until == len(samples)):
        chunk = samples[cursor:cursor + AUDIO_FRAME_SAMPLES][None, :]
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = stream.codec_context.sample_rate
        frame.pts = cursor
        container.mux(stream.encode(frame))
        cursor += chunk.shape[1]
    return cursor


def probe_codecs(path: Path) -> dict[str, str]:
    """{'video': codec name, 'audio': codec name} of a media file, read with PyAV."""
    with open_av(path) as container:
        return {s.type: s.codec_context.name for s in container.streams if s.type in ("video", "audio")}
