"""Does a modality share follow the decision? Replace a track's audio and compare shares with occlusion.

``audio_swap_check(model, tracks)``: for each prepared track (``pretrained_inputs.AuthorsTrack``), explain
its first n frames (n = the shortest track) three times: with its own audio, with the next track's speech
(another clip: lips and voice disagree) and with digital silence. On the frames the original scores as
speaking, report per variant the mean audio share (``kind``: a ``shown_shares`` kind, resolved once on the
original so every variant reads the same measure), the mean audio occlusion (P(speak) minus P(speak) with
the MFCC zeroed), and the mean speaking probability; ``agrees`` says whether the share moved from the
original in the direction the occlusion moved (both down, both up, or both unchanged within 1e-3).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..explain.map_settings import MapSettings
from ..explain.shown_shares import DEFAULT_SHARES, resolve_share_kind, shown_shares
from ..pretrained_inputs.prepare import track_mfcc
from .pretrained_track import explain_authors_track

VARIANTS = ("original", "other_speech", "silence")


def _direction(delta: float, tolerance: float = 1e-3) -> int:
    return 0 if abs(delta) <= tolerance else int(np.sign(delta))


def audio_swap_check(model: Any, tracks: Sequence[Any], names: Sequence[str], *, kind: str = DEFAULT_SHARES,
                     settings: MapSettings | None = None) -> list[dict[str, Any]]:
    """One row per (track, variant): name, variant, kind, audio_share, audio_occlusion, score, frames,
    agrees (None on the original). Needs at least two tracks (the other speech comes from the next one)."""
    if len(tracks) < 2:
        raise ValueError("audio_swap_check needs two tracks (each one's other speech comes from the next)")
    settings = settings or MapSettings()
    n = min(len(t) for t in tracks)
    rows = []
    for k, (name, track) in enumerate(zip(names, tracks)):
        other = tracks[(k + 1) % len(tracks)]
        audio = {"original": track.mfcc[:4 * n], "other_speech": other.mfcc[:4 * n],
                 "silence": track_mfcc(np.zeros(640 * n, np.int16), n)}
        runs = {v: explain_authors_track(model, track.faces[:n], a, settings=settings, scoring="single-pass",
                                         entity_id=name).explanation for v, a in audio.items()}
        speaking = runs["original"].scores >= 0.5
        used = resolve_share_kind(runs["original"].importance, kind)
        base = None
        for variant, expl in runs.items():
            share = float(shown_shares(expl.importance, used)[1]["audio"][speaking].mean())
            occlusion = float(expl.importance["occlusion"]["audio"][speaking].mean())
            row = {"track": name, "variant": variant, "kind": used, "audio_share": round(share, 4),
                   "audio_occlusion": round(occlusion, 4), "score": round(float(expl.scores[speaking].mean()), 4),
                   "frames": int(speaking.sum()), "agrees": None}
            if base is None:
                base = row
            else:
                row["agrees"] = _direction(share - base["audio_share"]) == _direction(
                    occlusion - base["audio_occlusion"])
            rows.append(row)
    return rows
