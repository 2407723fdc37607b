"""``asd-explain explain VIDEO``: who speaks in a video file, and why."""
from __future__ import annotations

import json
import os

import click

from ..explain.shown_shares import DEFAULT_SHARES, SHARE_KINDS
from .options import map_settings_options


@click.command("explain")
@click.argument("videos", nargs=-1, required=True, type=click.Path())
@click.option("--checkpoint", type=click.Path(dir_okay=False), help="Trained ASD model (or --pretrained).")
@click.option("--pretrained", type=click.Choice(["light-asd", "lr-asd"]),
              help="Explain a published AVA-trained model instead, on the authors' input preparation "
                   "(docs/pretrained.md).")
@click.option("--weights", type=click.Path(dir_okay=False), help="With --pretrained: the published weights file.")
@click.option("--se-checkpoint", type=click.Path(dir_okay=False),
              help="With --pretrained: distilled SE blocks (asd-explain distill); default: identity-at-init SE.")
@click.option("--scoring", type=click.Choice(["multi-duration", "single-pass"]), default="multi-duration",
              show_default=True, help="With --pretrained: the authors' averaging over 1-6 s windows, or one pass.")
@click.option("--landmarks", type=click.Choice(["auto", "dlib68", "mtcnn", "none"]), default="auto",
              show_default=True, help="With --pretrained: mouth landmarks for the pointing number in summary.json.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--boxes", "boxes_csv", type=click.Path(exists=True),
              help="AVA-format CSV of face boxes to use instead of detecting faces.")
@click.option("--video-id", help="Video id in --boxes rows and output CSV (default: the file name stem).")
@click.option("--detector", default="dlib", show_default=True, help="Face detector: dlib or haar.")
@click.option("--detect-every", type=int,
              help="Run the detector every N frames (default: about 6 per second; 1 with --pretrained).")
@click.option("--shares", type=click.Choice(SHARE_KINDS), default=DEFAULT_SHARES, show_default=True,
              help="Modality shares shown: auto = the first of kept fusion channels, occlusion, SE mass that moves.")
@map_settings_options
@click.option("--method", default="se", show_default=True,
              help="The explainer: se (SE maps with the map options), se-clipmean, se-speaking, se-motion, or a "
                   "grad-cam baseline (gradcam, gradcam++, eigengradcam, fullgrad; maps only, no importance).")
@click.option("--audio", "audio_file", type=click.Path(exists=True, dir_okay=False),
              help="Use this audio file (wav, flac, mp3, ...; decoded with PyAV, time 0 = the first frame) instead "
                   "of the video's soundtrack.")
@click.option("--start", "start_s", type=float, default=None,
              help="Explain from this time (s; decoding starts from a seek, outputs keep absolute times).")
@click.option("--end", "end_s", type=float, default=None, help="Explain up to this time (s).")
@click.option("--no-render", is_flag=True, help="Skip the MP4 and PNG; write scores and JSON only.")
@click.option("--encode-preset", default="superfast", show_default=True,
              type=click.Choice(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]),
              help="x264 preset of the MP4 (faster presets: bigger files at the same quality).")
@click.option("--device", default="auto", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(videos, checkpoint, pretrained, weights, se_checkpoint, scoring, landmarks, out, boxes_csv, video_id,
            detector, detect_every, shares, settings, method, audio_file, start_s, end_s, no_render, encode_preset,
            device, quiet) -> None:
    """Detect and track faces (or read --boxes), score every face per frame, and explain the scores with
    face/body heatmaps, spectrogram attention and modality shares (MP4, CSV, JSON, PNG in --out).

    Several VIDEOS or a folder: one subfolder of --out per video and --out/index.csv; a rerun skips the
    videos the index lists as finished."""
    from ..pipeline.explain_video import ExplainVideoOptions, explain_video
    from ..train.checkpoint import CheckpointError

    if (checkpoint is None) == (pretrained is None):
        raise click.UsageError("give exactly one of --checkpoint FILE and --pretrained light-asd|lr-asd")
    if pretrained and audio_file:
        raise click.UsageError("--audio goes with --checkpoint (the published models read the video's own audio)")
    if pretrained:
        _explain_pretrained(videos, out, pretrained, weights, se_checkpoint, scoring, landmarks, boxes_csv, video_id,
                            detector, detect_every, shares, settings, method, start_s, end_s, no_render,
                            encode_preset, device, quiet)
        return
    if weights or se_checkpoint:
        raise click.UsageError("--weights and --se-checkpoint go with --pretrained")
    options = ExplainVideoOptions(detector=detector, detect_every=detect_every, boxes_csv=boxes_csv, shares=shares,
                                  video_id=video_id, maps=settings, method=method, render=not no_render,
                                  encode_preset=encode_preset, device=device, progress=not quiet,
                                  start_s=start_s, end_s=end_s, audio_file=audio_file)
    if len(videos) > 1 or os.path.isdir(videos[0]):
        _explain_many(videos, checkpoint, out, options, video_id)
        return
    video = videos[0]
    try:
        summary = explain_video(video, checkpoint, out, options)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        raise click.ClickException(str(err)) from None
    _print_summary(summary)


def _print_summary(summary: dict) -> None:
    for note in summary["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(json.dumps({k: summary[k] for k in ("video_id", "frames", "faces_found", "frames_with_a_track",
                                                   "real_time_factor", "outputs")}, indent=2))


def _explain_many(videos, checkpoint, out, options, video_id) -> None:
    from ..pipeline.explain_batch import explain_videos
    from ..train.checkpoint import CheckpointError

    if video_id:
        raise click.UsageError("--video-id names one video; with several the file names are the ids")

    def report(row):
        click.echo(f"{row['video_id']}: {row['status']}" + (f" ({row['message']})" if row.get("message") else ""))

    try:
        rows = explain_videos(videos, checkpoint, out, options, on_video=report)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        raise click.ClickException(str(err)) from None
    failed = sum(r["status"] != "ok" for r in rows.values())
    click.echo(f"{len(rows) - failed} of {len(rows)} videos explained; index: {os.path.join(out, 'index.csv')}")


def _explain_pretrained(videos, out, name, weights, se_checkpoint, scoring, landmarks, boxes_csv, video_id, detector,
                        detect_every, shares, settings, method, start_s, end_s, no_render, encode_preset, device,
                        quiet) -> None:
    """``--pretrained``: one video through ``pipeline.explain_pretrained``."""
    from ..models.weights_file import WeightsError
    from ..pipeline.explain_pretrained import PretrainedExplainOptions, explain_video_pretrained

    unsupported = [flag for flag, value in (("--boxes", boxes_csv), ("--start", start_s), ("--end", end_s),
                                            ("--method", method != "se")) if value]
    if unsupported or len(videos) > 1 or os.path.isdir(videos[0]):
        raise click.UsageError(f"--pretrained explains one video file (not with {', '.join(unsupported) or 'several'})")
    from ..distill import PRETRAINED_FACE_MAPS
    from ..explain.map_settings import MapSettings

    options = PretrainedExplainOptions(model=name, weights=weights, se_checkpoint=se_checkpoint, scoring=scoring,
                                       detector=detector, detect_every=detect_every or 1, video_id=video_id,
                                       maps=PRETRAINED_FACE_MAPS if settings == MapSettings() else settings,
                                       shares=shares, landmarks=landmarks, render=not no_render,
                                       encode_preset=encode_preset, device=device, progress=not quiet)
    try:
        summary = explain_video_pretrained(videos[0], out, options)
    except (ValueError, FileNotFoundError, WeightsError) as err:
        raise click.ClickException(str(err)) from None
    summary["frames_with_a_track"] = sum(t["frames"] for t in summary["tracks"])
    _print_summary(summary)
