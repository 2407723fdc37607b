"""A video's soundtrack as the authors' demo reads it: 16 kHz mono 16-bit PCM made by FFmpeg's resampler.

Their demo extracts a wav with ``ffmpeg -ac 1 -ar 16000 -acodec pcm_s16le`` and reads it with
``scipy.io.wavfile``. PyAV's ``AudioResampler`` runs the same libswresample with FFmpeg's defaults
(channels mixed by the default downmix matrix, which is the mean for stereo), so the samples are the ones
the command line makes: the MFCC of the first 2 s of ``talking_head_1.mp4`` decoded this way equals the
shipped ``reference_io.pt`` ``mfcc`` to 2e-6 (``tests/test_psf_mfcc.py``). SciPy's ``resample_poly`` (the
store's resampler) gives other samples (see docs/pretrained.md).

Sample ``k`` is at ``t0_s + k / 16000`` on the video frames' timeline (audio presentation time minus the
video stream's start time).
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from ..constants import SAMPLE_RATE_HZ
from ..media.decode import open_av

AUTHORS_SAMPLE_RATE_HZ = SAMPLE_RATE_HZ  # the authors' demo resamples to 16 kHz, the toolkit's rate


class AudioDecodeError(Exception):
    """The file has no audio track or its audio cannot be decoded."""


def decode_audio_s16(path: str | Path, sample_rate_hz: int = AUTHORS_SAMPLE_RATE_HZ) -> tuple[np.ndarray, float]:
    """Whole soundtrack -> ``(samples (N,) int16 mono at sample_rate_hz, t0_s)``; t0 on the frames' timeline."""
    try:
        container = open_av(path)
    except (av.FFmpegError, OSError) as err:
        raise AudioDecodeError(f"{path}: cannot open ({err})") from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f"{path}: video has no audio track")
        stream = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        video_start = float(video.start_time * video.time_base) if video is not None and video.start_time else 0.0
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate_hz)
        pieces: list[np.ndarray] = []
        t0 = None
        try:
            for frame in container.decode(stream):
                if t0 is None and frame.pts is not None:
                    t0 = float(frame.pts * stream.time_base) - video_start
                pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
        except av.FFmpegError as err:
            if not pieces:
                raise AudioDecodeError(f"{path}: audio cannot be decoded ({err})") from None
    if not pieces:
        raise AudioDecodeError(f"{path}: audio track has no samples")
    return np.concatenate(pieces).astype(np.int16), (t0 or 0.0)


def cut_audio(samples: np.ndarray, t0_s: float, start_s: float, end_s: float,
              sample_rate_hz: int = AUTHORS_SAMPLE_RATE_HZ) -> np.ndarray:
    """Samples of ``[start_s, end_s)`` (as ``ffmpeg -ss start -to end`` cuts a wav), zero-filled outside."""
    first = int(round((start_s - t0_s) * sample_rate_hz))
    count = int(round((end_s - start_s) * sample_rate_hz))
    out = np.zeros(max(count, 0), np.int16)
    lo, hi = max(first, 0), min(first + count, len(samples))
    if hi > lo:
        out[lo - first:hi - first] = samples[lo:hi]
    return out
