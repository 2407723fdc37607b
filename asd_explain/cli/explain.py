"""``asd-explain explain VIDEO``: who speaks in a video file, and why."""
from __future__ import annotations

import json

import click

from .options import map_settings_options


@click.command("explain")
@click.argument("video", type=click.Path(dir_okay=False))
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="Trained ASD model.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--boxes", "boxes_csv", type=click.Path(exists=True),
              help="AVA-format CSV of face boxes to use instead of detecting faces.")
@click.option("--video-id", help="Video id in --boxes rows and output CSV (default: the file name stem).")
@click.option("--detector", default="dlib", show_default=True, help="Face detector: dlib or haar.")
@click.option("--detect-every", type=int, help="Run the detector every N frames (default: about 6 per second).")
@map_settings_options
@click.option("--no-render", is_flag=True, help="Skip the MP4 and PNG; write scores and JSON only.")
@click.option("--encode-preset", default="superfast", show_default=True,
              type=click.Choice(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]),
              help="x264 preset of the MP4 (faster presets: bigger files at the same quality).")
@click.option("--device", default="auto", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(video, checkpoint, out, boxes_csv, video_id, detector, detect_every, settings, no_render, encode_preset,
            device, quiet) -> None:
    """Detect and track faces (or read --boxes), score every face per frame, and explain the scores with
    face/body heatmaps, spectrogram attention and modality shares (MP4, CSV, JSON, PNG in --out)."""
    from ..pipeline.explain_video import ExplainVideoOptions, explain_video
    from ..train.checkpoint import CheckpointError

    options = ExplainVideoOptions(detector=detector, detect_every=detect_every, boxes_csv=boxes_csv,
                                  video_id=video_id, maps=settings, render=not no_render,
                                  encode_preset=encode_preset, device=device, progress=not quiet)
    try:
        summary = explain_video(video, checkpoint, out, options)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        raise click.ClickException(str(err)) from None
    for note in summary["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(json.dumps({k: summary[k] for k in ("video_id", "frames", "faces_found", "frames_with_a_track",
                                                   "real_time_factor", "outputs")}, indent=2))
