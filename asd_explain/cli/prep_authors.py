"""``asd-explain prep-authors VIDEO --out DIR``: a video's face tracks prepared as the published AVA models'
authors prepare videos in the wild (25 fps, their crop and smoothing, 112 px grey faces, their MFCC)."""
from __future__ import annotations

import click


@click.command("prep-authors")
@click.argument("video", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for track_<id>.npz + prep.json.")
@click.option("--detector", default="dlib", show_default=True, help="Face detector (dlib, haar).")
@click.option("--detect-every", type=int, default=1, show_default=True,
              help="Run the detector every n-th 25 fps frame.")
@click.option("--resample-rule", type=click.Choice(["display", "nearest"]), default="display", show_default=True)
@click.option("--audio-start", type=click.Choice(["stream", "pts"]), default="stream", show_default=True,
              help="stream: the soundtrack's first sample at the first frame (the authors' pairing); "
                   "pts: by presentation timestamps (the store's).")
@click.option("--landmarks", type=click.Choice(["dlib68", "mtcnn", "none"]), default="none", show_default=True,
              help="Also store per-frame mouth regions in crop coordinates (needs the landmarks extra).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(video: str, out: str, detector: str, detect_every: int, resample_rule: str, audio_start: str,
            landmarks: str, quiet: bool) -> None:
    """Detect, track, crop and featurise every face track of VIDEO the authors' way."""
    from ..pipeline.landmarks import LandmarksUnavailable
    from ..pretrained_inputs.audio import AudioDecodeError
    from ..pretrained_inputs.export import save_authors_video
    from ..pretrained_inputs.prepare import AuthorsPrepConfig, authors_mouth_regions, prepare_authors_tracks

    config = AuthorsPrepConfig(detector=detector, detect_every=detect_every, resample_rule=resample_rule,
                               audio_start=audio_start)
    try:
        prepared = prepare_authors_tracks(video, config, progress=not quiet)
        regions = (authors_mouth_regions(prepared, landmarks, config, progress=not quiet)
                   if landmarks != "none" and prepared.tracks else None)
        paths = save_authors_video(prepared, out, config, regions, None if landmarks == "none" else landmarks)
    except (AudioDecodeError, LandmarksUnavailable, ValueError, OSError) as err:
        raise click.ClickException(str(err)) from None
    if not paths:
        click.echo(f"{video}: no face track found ({prepared.info.get('frames_with_detections', 0)} of "
                   f"{prepared.info['frames']} frames with a detection); wrote {out}/prep.json only")
        return
    lengths = ", ".join(str(len(t)) for t in prepared.tracks)
    click.echo(f"{video}: {len(paths)} track(s) of {lengths} frames at 25 fps -> {out}")
