"""``asd-prep ava --face-crop authors``: the published AVA models' face crops in the store."""
from __future__ import annotations

import av
import numpy as np
import pytest
from click.testing import CliRunner

from asd_explain.data.store import TrackStore
from asd_explain.media.crops import pixel_window
from asd_explain.pretrained_inputs.ava_crop import authors_ava_crop, authors_ava_window
from data_prep.settings import PrepSettings

W, H, N_FRAMES = 160, 120, 8
BOX = (0.105, 0.21, 0.437, 0.83)  # x2 * W = 69.92: the authors truncate to 69, the box window rounds up to 70


def _video(path) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        sound = container.add_stream("aac", rate=16000)
        sound.layout = "mono"
        for i in range(N_FRAMES):
            img = np.repeat(np.linspace(0, 255, W, dtype=np.uint8)[None, :, None], H, 0).repeat(3, 2)
            img = (img + rng.integers(0, 40, (H, W, 3))).clip(0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 16000 * N_FRAMES // 25), np.float32), format="fltp",
                                           layout="mono")
        chunk.sample_rate, chunk.pts = 16000, 0
        container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))


def test_window_truncates_both_ends() -> None:
    assert authors_ava_window(BOX, W, H) == (16, 25, 69, 99)
    assert pixel_window(BOX, W, H) == (16, 25, 70, 100)
    assert authors_ava_window((0.5, 0.5, 0.5, 0.5), W, H) == (80, 60, 81, 61)  # never empty


def test_settings_validate_and_record_the_crop_style() -> None:
    assert PrepSettings(face_crop="authors").manifest_settings()["face_crop"] == "authors"
    assert "face_crop" not in PrepSettings().manifest_settings()  # box: as stores made before the option
    with pytest.raises(ValueError, match="grey 112 x 112"):
        PrepSettings(face_crop="authors", face_colour="rgb")
    with pytest.raises(ValueError, match="face_crop must be one of"):
        PrepSettings(face_crop="tight")


def test_asd_prep_ava_face_crop_authors(tmp_path) -> None:
    from asd_explain.media.frames import open_video
    from data_prep.commands.ava import command as ava_command

    videos = tmp_path / "videos"
    videos.mkdir()
    _video(videos / "vid.mp4")
    rows = "".join(f"vid,{i / 25:.2f},{BOX[0]},{BOX[1]},{BOX[2]},{BOX[3]},NOT_SPEAKING,vid_0_1:1\n"
                   for i in range(N_FRAMES))
    (tmp_path / "vid-activespeaker.csv").write_text(rows)
    stores = {}
    for style in ("authors", "box"):
        out = tmp_path / f"store_{style}"
        result = CliRunner().invoke(ava_command, ["--videos", str(videos), "--annotations",
                                           str(tmp_path / "vid-activespeaker.csv"), "--out", str(out),
                                           "--face-crop", style, "--body", "none", "--image-codec", "raw",
                                           "--quiet"])
        assert result.exit_code == 0, result.output
        stores[style] = TrackStore(out)
    assert stores["authors"].settings["face_crop"] == "authors" and "face_crop" not in stores["box"].settings
    track = stores["authors"].read("vid_0_1:1")
    reader = open_video(videos / "vid.mp4")
    frames = dict(reader.iter_frames(track.frame_indices))
    expected = np.stack([authors_ava_crop(frames[int(i)], BOX) for i in track.frame_indices])
    assert track.face.shape == (N_FRAMES, 112, 112)
    np.testing.assert_array_equal(track.face, expected)
    assert np.abs(track.face.astype(int) - stores["box"].read("vid_0_1:1").face.astype(int)).max() > 0
