"""``asd-prep import-clips`` on clip folders in the reference layout (TalkNet / Light-ASD / WASD
``create_dataset.py``), generated here from a synthetic corpus video, against preparing the video itself;
and ``asd-prep wasd`` with WASD's ``<split>_body_orig.csv`` name."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.io import wavfile

from asd_explain.data.store import TrackStore
from asd_explain.media.decode import decode_audio, nearest_frames, probe_streams
from asd_explain.media.frames import open_video
from data_prep.cli import cli
from data_prep.commands import import_clips as import_command
from data_prep.commands import wasd as wasd_command

cli.add_command(import_command.command)
cli.add_command(wasd_command.command)
SPLIT = "train"
# Tolerances, mean absolute difference in grey levels of the 112x112 crops:
# - JPEG_TOLERANCE: imported crop vs the same truncated window resized straight from the decoded frame
#   (only the reference's q95 JPEG lies between them; measured 0.49-0.61 on this corpus);
# - PREPARED_TOLERANCE: imported crop vs asd-prep's crop of the source video; adds the window rounding (the
#   reference cuts [int(x1 W), int(x2 W)), the store [floor(x1 W), ceil(x2 W))): on these 640x360 videos a
#   face is ~60 px wide, one pixel column is ~1.7% of it and edges move after the resize (measured 3.4-6.5
#   for faces, 1.4-2.0 for bodies).
JPEG_TOLERANCE = 1.0
PREPARED_TOLERANCE = 8.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from data_prep.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("synth"), preset="tiny", videos=2, size=(640, 360), seed=11,
                           split=SPLIT, workers=1, progress=False)


def write_reference_clips(corpus, root) -> None:
    """Clip folders as the reference preparation writes them (layout facts; written independently)."""
    faces = pd.read_csv(corpus / "annotations" / f"{SPLIT}_orig.csv")
    bodies = pd.read_csv(corpus / "annotations" / f"{SPLIT}_orig_body.csv")
    for video_id in sorted(faces.video_id.unique()):
        path = corpus / "videos" / f"{video_id}.mp4"
        frames = open_video(path)
        info = probe_streams(path)
        audio, t0 = decode_audio(path, 0.0, float(frames.frame_times_s[-1]) + 1.0, info.video_start_s, seek=False)
        pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)
        needed = {}
        for folder, table in (("clips_videos", faces), ("clips_videos_body", bodies)):
            rows = table[table.video_id == video_id]
            index, _ = nearest_frames(frames.frame_times_s, rows.frame_timestamp.to_numpy(), frames.fps)
            for frame_index, row in zip(index.tolist(), rows.itertuples()):
                needed.setdefault(frame_index, []).append((folder, row))
        for frame_index, rgb in frames.iter_frames(np.array(sorted(needed))):
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            h, w = bgr.shape[:2]
            for folder, row in needed[frame_index]:
                out = root / folder / SPLIT / video_id / row.entity_id
                out.mkdir(parents=True, exist_ok=True)
                window = bgr[int(row.entity_box_y1 * h):int(row.entity_box_y2 * h),
                             int(row.entity_box_x1 * w):int(row.entity_box_x2 * w)]
                cv2.imwrite(str(out / f"{row.frame_timestamp:.2f}.jpg"), window)
        for entity, rows in faces[faces.video_id == video_id].sort_values("frame_timestamp").groupby("entity_id"):
            start = int((rows.frame_timestamp.iloc[0] - t0) * 16000)
            end = int((rows.frame_timestamp.iloc[-1] - t0) * 16000)
            (root / "clips_audios" / SPLIT / video_id).mkdir(parents=True, exist_ok=True)
            wavfile.write(root / "clips_audios" / SPLIT / video_id / f"{entity}.wav", 16000, pcm[start:end])


def truncated_window_crops(corpus, track, boxes) -> np.ndarray:
    """The reference's window of every row, cut from the decoded frame, grey, resized like the store."""
    frames = open_video(corpus / "videos" / f"{track.video_id}.mp4")
    out = []
    for (_, rgb), box in zip(frames.iter_frames(track.frame_indices), boxes):
        h, w = rgb.shape[:2]
        window = rgb[int(box[1] * h):int(box[3] * h), int(box[0] * w):int(box[2] * w)]
        out.append(cv2.resize(cv2.cvtColor(window, cv2.COLOR_RGB2GRAY), (112, 112), interpolation=cv2.INTER_LINEAR))
    return np.stack(out)


def test_import_clips_equals_preparing_the_video(corpus, tmp_path):
    annotations = tmp_path / "csv"
    shutil.copytree(corpus / "annotations", annotations)
    # WASD's distributed name of the body file: asd-prep wasd must find it
    (annotations / f"{SPLIT}_orig_body.csv").rename(annotations / f"{SPLIT}_body_orig.csv")
    runner = CliRunner()
    prepared = runner.invoke(cli, ["wasd", "--videos", str(corpus / "videos"), "--annotations", str(annotations),
                                   "--split", SPLIT, "--out", str(tmp_path / "from_video"), "--quiet"])
    assert prepared.exit_code == 0, prepared.output
    write_reference_clips(corpus, tmp_path / "clips")
    args = ["import-clips", "--clips", str(tmp_path / "clips"), "--annotations", str(annotations), "--split", SPLIT,
            "--dataset", "wasd", "--out", str(tmp_path / "from_clips"), "--quiet"]
    imported = runner.invoke(cli, args)
    assert imported.exit_code == 0, imported.output
    video, clips = TrackStore(tmp_path / "from_video"), TrackStore(tmp_path / "from_clips")
    assert video.entity_ids and sorted(video.entity_ids) == sorted(clips.entity_ids)
    for entity in video.entity_ids:
        a, b = video.read(entity), clips.read(entity)
        np.testing.assert_array_equal(a.timestamps_s, b.timestamps_s)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.face_boxes, b.face_boxes)
        np.testing.assert_array_equal(a.body_boxes, b.body_boxes)
        assert a.face.shape == b.face.shape and a.body.shape == b.body.shape
        for name in ("face", "body"):
            diff = np.abs(getattr(a, name).astype(np.int16) - getattr(b, name).astype(np.int16))
            assert diff.mean() <= PREPARED_TOLERANCE, (entity, name, diff.mean())
            direct = truncated_window_crops(corpus, a, getattr(a, f"{name}_boxes"))
            diff = np.abs(direct.astype(np.int16) - getattr(b, name).astype(np.int16))
            assert diff.mean() <= JPEG_TOLERANCE, (entity, name, diff.mean())
        assert a.fps == pytest.approx(b.fps, rel=1e-3)  # estimated from the (rounded) timestamps
        # audio: the clips hold [first timestamp, last timestamp); inside it the samples are the same
        half = int(round(0.5 / a.fps * 16000))
        inner = slice(half + 2, len(a.audio) - 2 * half - 2)
        assert len(a.audio) == len(b.audio)
        assert np.abs(a.audio[inner].astype(np.int32) - b.audio[inner].astype(np.int32)).max() <= 1
    # resumable like asd-prep wasd: a second run writes nothing and says the same
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "0 skipped" in again.output.splitlines()[0]
    assert (tmp_path / "from_clips" / "reports").is_dir()


def test_missing_clip_images_are_reported_and_skipped(corpus, tmp_path):
    write_reference_clips(corpus, tmp_path / "clips")
    faces = sorted((tmp_path / "clips" / "clips_videos" / SPLIT).glob("*/*/*.jpg"))
    faces[0].unlink()
    (faces[1]).write_bytes(b"not a jpeg")
    result = CliRunner().invoke(cli, ["import-clips", "--clips", str(tmp_path / "clips"), "--annotations",
                                      str(corpus / "annotations"), "--split", SPLIT, "--out",
                                      str(tmp_path / "store"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "missing_clip_image: 2" in result.output
