"""How close the toolkit's authors'-recipe inputs come to the shipped ``reference_io.pt`` (talking_head_1).

Prints: (1) MFCC of the clip's first 2 s against the reference ``mfcc`` for two resamplers (FFmpeg's
swresample through PyAV, and SciPy's polyphase ``resample_poly``, the store's), and our MFCC against
python_speech_features on each whole clip; (2) for each face detector and 25 fps rule, the mean absolute
difference of the first 50 prepared crops from the reference ``faces_uint8`` and the integer shift (in
112 px crop pixels and in frame pixels) that best aligns each crop with the reference; (3) with
``--mouth``, the mouth region's share of the crop and how often a heatmap peaking at the crop's centre
would count as a mouth hit (the chance level of mouth pointing with this crop). Needs ../shared.

    python benchmarks/authors_inputs_check.py --json [--mouth]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLIPS = [SHARED / "data" / "real" / f"talking_head_{k}.mp4" for k in (1, 2)]
REFERENCE = SHARED / "weights" / "light-asd" / "reference_io.pt"


def mfcc_check(reference) -> dict:
    from asd_explain.data.psf_mfcc import psf_mfcc
    from asd_explain.media.decode import decode_audio
    from asd_explain.pretrained_inputs.audio import decode_audio_s16

    out = {}
    swr, _ = decode_audio_s16(CLIPS[0])
    poly, _ = decode_audio(CLIPS[0], 0.0, 3.0)
    poly = np.round(np.clip(poly * 32768, -32768, 32767))
    for name, samples in (("swresample_s16", swr), ("resample_poly", poly)):
        diff = np.abs(psf_mfcc(samples[:32000]) - reference)
        out[f"reference_mfcc_vs_{name}"] = {"max": float(diff.max()), "mean": float(diff.mean())}
    try:
        import python_speech_features as psf
    except ImportError:
        return out
    for clip in CLIPS:
        samples, _ = decode_audio_s16(clip)
        theirs = psf.mfcc(samples, 16000, numcep=13, winlen=0.025, winstep=0.010)
        out[f"{clip.name}_vs_python_speech_features_max"] = float(np.abs(psf_mfcc(samples) - theirs).max())
    return out


def best_shift(ours: np.ndarray, ref: np.ndarray, reach: int = 12) -> tuple[float, int, int]:
    """(mean abs difference on the overlap, dy, dx) of the integer shift that aligns ``ours`` with ``ref``."""
    best = (np.inf, 0, 0)
    n = ours.shape[0]
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            a = ours[max(dy, 0):n + min(dy, 0), max(dx, 0):n + min(dx, 0)]
            b = ref[max(-dy, 0):n + min(-dy, 0), max(-dx, 0):n + min(-dx, 0)]
            mad = float(np.abs(a - b).mean())
            if mad < best[0]:
                best = (mad, dy, dx)
    return best


def crop_check(reference_faces: np.ndarray, detector: str, rule: str) -> dict:
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, prepare_authors_tracks

    start = time.perf_counter()
    video = prepare_authors_tracks(CLIPS[0], AuthorsPrepConfig(detector=detector, resample_rule=rule),
                                   progress=False)
    seconds = time.perf_counter() - start
    track = next(t for t in video.tracks if t.frames[0] == 0 and len(t) >= 50)
    ours = track.faces[:50].astype(np.float32)
    shifts = np.array([best_shift(ours[i], reference_faces[i]) for i in range(50)])
    frame_px_per_crop_px = float(np.mean(2.8 * track.crop.half_size[:50] / 224))
    dy, dx = float(np.mean(shifts[:, 1])), float(np.mean(shifts[:, 2]))
    return {
        "mean_abs_difference": round(float(np.abs(ours - reference_faces).mean()), 2),
        "after_best_shift": round(float(shifts[:, 0].mean()), 2),
        "shift_crop_px_dy_dx": [round(dy, 2), round(dx, 2)],
        "mean_abs_shift_crop_px_dy_dx": [round(float(np.abs(shifts[:, 1]).mean()), 2),
                                         round(float(np.abs(shifts[:, 2]).mean()), 2)],
        "shift_frame_px_dy_dx": [round(dy * frame_px_per_crop_px, 2), round(dx * frame_px_per_crop_px, 2)],
        "tracks": len(video.tracks), "seconds": round(seconds, 1),
    }


def mouth_check() -> dict:
    from asd_explain.metrics.mouth import mouth_pointing, region_masks
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, authors_mouth_regions, prepare_authors_tracks

    out = {}
    for clip in CLIPS:
        video = prepare_authors_tracks(clip, AuthorsPrepConfig(detect_every=5), progress=False)
        regions = authors_mouth_regions(video, "dlib68", progress=False)[0]
        centre = np.zeros((len(regions), 112, 112), np.float32)
        centre[:, 55, 55] = 1.0
        hits, valid = mouth_pointing(centre, regions)
        out[clip.name] = {"region_share_of_crop": round(float(region_masks(regions).float().mean()), 3),
                          "centre_peak_hit_rate": round(float(hits[valid].mean()), 3),
                          "region_size_px_w_h": [round(float(np.nanmean(regions[:, 2] - regions[:, 0])), 1),
                                                 round(float(np.nanmean(regions[:, 3] - regions[:, 1])), 1)]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mouth", action="store_true", help="also the mouth-region chance level")
    parser.add_argument("--detectors", default="dlib,haar")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    reference = torch.load(REFERENCE, weights_only=True)
    results = {"mfcc": mfcc_check(reference["mfcc"][0].double().numpy())}
    faces = reference["faces_uint8"][0].numpy().astype(np.float32)
    results["reference_consecutive_frames_mad"] = round(float(np.abs(np.diff(faces, axis=0)).mean()), 2)
    results["crops"] = {f"{d}/{rule}": crop_check(faces, d, rule)
                        for d in args.detectors.split(",") for rule in ("display", "nearest")}
    if args.mouth:
        results["mouth"] = mouth_check()
    print(json.dumps(results, indent=1) if args.json else results)


if __name__ == "__main__":
    main()
