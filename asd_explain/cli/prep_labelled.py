"""``asd-explain prep-labelled --video V --speech SEGMENTS ... --out STORE``: a labelled track store of real videos
with the authors' crops and mouth regions, for ``compare --pretrained`` and ``evaluate --pretrained``."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("prep-labelled")
@click.option("--video", "videos", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="A video (repeat; one --speech per --video, in the same order).")
@click.option("--speech", "speech", multiple=True, required=True,
              help="The video's speech segments in seconds, e.g. 0-2.5,3.5-4.7 (a frame is speaking when its start "
                   "time n / 25 lies in one); '' for none.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The store folder (resumable).")
@click.option("--landmarks", type=click.Choice(["dlib68", "mtcnn", "none"]), default="dlib68", show_default=True,
              help="Mouth regions beside each track, for mouth pointing (needs the landmarks extra).")
@click.option("--detector", default="dlib", show_default=True, help="Face detector (dlib, haar).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(videos, speech, out, landmarks, detector, quiet) -> None:
    """Prepare each video's face tracks the authors' way and label them from its speech segments."""
    from ..pipeline.landmarks import LandmarksUnavailable
    from ..pretrained_inputs.audio import AudioDecodeError
    from ..pretrained_inputs.labelled_store import LabelledVideo, parse_segments, write_authors_store
    from ..pretrained_inputs.prepare import AuthorsPrepConfig

    if len(videos) != len(speech):
        raise click.UsageError(f"{len(videos)} --video but {len(speech)} --speech: give one --speech per --video")
    try:
        items = [LabelledVideo(Path(v), tuple(parse_segments(s))) for v, s in zip(videos, speech, strict=True)]
        store = write_authors_store(items, out, AuthorsPrepConfig(detector=detector), landmarks, progress=not quiet)
    except (AudioDecodeError, LandmarksUnavailable, ValueError, OSError) as err:
        raise click.ClickException(str(err)) from None
    labels = [store.read(e, modalities=()).labels for e in store.entity_ids]
    click.echo(f"{out}: {len(store)} track(s), {store.n_frames} frames, {sum(int((x == 1).sum()) for x in labels)} "
               "labelled speaking")
