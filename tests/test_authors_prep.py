"""The authors' input preparation: 25 fps resampling, crop geometry (known boxes), the real clip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asd_explain.pretrained_inputs.crop import (
    AUTHORS_PAD_VALUE,
    authors_face_crop,
    crop_windows,
    cut_window,
    smoothed_box_params,
)
from asd_explain.pretrained_inputs.prepare import track_mfcc
from asd_explain.pretrained_inputs.resample import source_frame_for_output

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLIP = SHARED / "data" / "real" / "talking_head_1.mp4"
REFERENCE = SHARED / "weights" / "light-asd" / "reference_io.pt"


def test_resampling_rules() -> None:
    times25 = np.arange(50) / 25.0
    np.testing.assert_array_equal(source_frame_for_output(times25, 25.0), np.arange(50))
    times30 = np.arange(30) / 30.0  # 1 s at 30 fps -> 25 frames, 5 source frames skipped
    index = source_frame_for_output(times30, 30.0)
    np.testing.assert_array_equal(index, np.floor(np.arange(25) / 25.0 * 30 + 1e-9).astype(int))
    vfr = np.array([0, 2, 3, 4, 6, 7]) / 30.0  # a 30 fps grid with dropped frames (like talking_head_1)
    # output ticks 0, .04, ... .24 s (the last source frame ends at 7/30 + 1/22.5 = .278 s): 7 frames
    np.testing.assert_array_equal(source_frame_for_output(vfr, 22.5), [0, 0, 1, 2, 3, 4, 5])
    # nearest: source times rounded to ticks 0, 2, 2, 3, 5, 6 (half to even)
    np.testing.assert_array_equal(source_frame_for_output(vfr, 22.5, rule="nearest"), [0, 0, 2, 3, 3, 4, 5])


def test_median_is_scipy_medfilt_with_zero_padded_ends() -> None:
    boxes = np.tile([100.0, 50.0, 180.0, 150.0], (20, 1))
    boxes[9] += 40  # one outlier frame
    size, cx, cy = smoothed_box_params(boxes)
    np.testing.assert_array_equal(size, 50.0)  # constant series survive the zero padding (7 of 13 values)
    np.testing.assert_array_equal(cx, 140.0)
    with pytest.warns(UserWarning, match="kernel_size exceeds"):
        short = smoothed_box_params(np.tile([0.0, 0.0, 20.0, 20.0], (6, 1)))[0]
        seven = smoothed_box_params(np.tile([0.0, 0.0, 20.0, 20.0], (7, 1)))[0]
    np.testing.assert_array_equal(short, 0.0)  # every 13-frame window holds >= 7 zeros: all 0
    np.testing.assert_array_equal(seven, 10.0)


def test_window_is_the_formula_and_pads_with_110() -> None:
    s, x, y = 40.0, 300.0, 200.0
    boxes = np.tile([x - s, y - 0.8 * s, x + s, y + 0.8 * s], (15, 1))  # wide box: s = width / 2
    win = crop_windows(boxes, (480, 640))
    pad = int(1.8 * s)
    expected = [int(x + pad - 1.4 * s) - pad, int(y + pad - s) - pad, int(x + pad + 1.4 * s) - pad,
                int(y + pad + 1.8 * s) - pad]
    assert expected == [244, 160, 356, 272]
    np.testing.assert_array_equal(win.windows, np.tile(expected, (15, 1)))
    corner = crop_windows(np.tile([-30.0, -30.0, 30.0, 30.0], (15, 1)), (480, 640))  # s = 30 at the corner
    assert corner.windows[0].tolist() == [-42, -30, 42, 54]
    frame = np.full((480, 640, 3), 7, np.uint8)
    cut = cut_window(frame, corner.windows[0])
    assert (cut[:30] == AUTHORS_PAD_VALUE).all() and (cut[:, :42] == AUTHORS_PAD_VALUE).all()
    assert (cut[30:, 42:] == 7).all()


def test_crop_lands_where_the_transform_says() -> None:
    s, x, y = 50.0, 320.0, 240.0
    boxes = np.tile([x - s, y - s, x + s, y + s], (13, 1))
    win = crop_windows(boxes, (480, 640))
    frame = np.zeros((480, 640, 3), np.uint8)
    assert win.windows[0].tolist() == [250, 190, 390, 330]  # 2.8 s = 140 px square, rows from y - s
    spot = np.array([300.0, 270.0])  # a 7 x 7 white square centred on pixel (300, 270)
    frame[267:274, 297:304] = 255
    crop = authors_face_crop(frame, win.windows[0])
    assert crop.shape == (112, 112) and crop.dtype == np.uint8
    where = win.frame_to_crop(spot[None, None])[0, 0]
    scale = 224 / 140  # window pixel centres: the window's centre is at (319.5, 259.5), the crop's at 55.5
    np.testing.assert_allclose(where, [55.5 + (300 - 319.5) * scale, 55.5 + (270 - 259.5) * scale], atol=1e-9)
    ys, xs = np.nonzero(crop > 128)
    np.testing.assert_allclose([xs.mean(), ys.mean()], where, atol=0.6)
    points = np.tile(spot, (13, 1, 1))
    np.testing.assert_allclose(win.crop_to_frame(win.frame_to_crop(points)), points)
    # the kept 112 px square is the frame's columns x - 0.7 s .. x + 0.7 s and rows y - 0.3 s .. y + 1.1 s
    corners = np.tile([[x - 0.7 * s - 0.5, y - 0.3 * s - 0.5], [x + 0.7 * s - 0.5, y + 1.1 * s - 0.5]], (13, 1, 1))
    np.testing.assert_allclose(win.frame_to_crop(corners)[0], [[-0.5, -0.5], [111.5, 111.5]], atol=1e-9)


def test_track_mfcc_has_four_rows_per_frame_authors_rows_first() -> None:
    rng = np.random.default_rng(0)
    audio = (rng.normal(0, 2000, 640 * 10)).astype(np.int16)
    feats = track_mfcc(audio, 10)
    assert feats.shape == (40, 13)
    from asd_explain.data.psf_mfcc import psf_mfcc

    authors = psf_mfcc(audio)
    assert authors.shape == (39, 13)
    np.testing.assert_allclose(feats[:39], authors, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(feats[39], feats[38])


@pytest.mark.slow
def test_real_clip_crops_resemble_reference() -> None:
    if not CLIP.is_file() or not REFERENCE.is_file():
        pytest.skip("../shared/data/real/talking_head_1.mp4 or ../shared/weights/light-asd/reference_io.pt absent")
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, prepare_authors_tracks

    video = prepare_authors_tracks(CLIP, AuthorsPrepConfig(detect_every=2), progress=False)
    assert video.info["frames"] == 153 and video.info["source_frames"] == 135
    track = max(video.tracks, key=len)
    assert track.frames[0] == 0 and len(track) >= 140
    assert track.faces.shape == (len(track), 112, 112) and track.mfcc.shape == (4 * len(track), 13)
    assert len(track.audio) == 640 * len(track)
    reference = torch.load(REFERENCE, weights_only=True)["faces_uint8"][0].numpy().astype(np.float32)
    mfcc = torch.load(REFERENCE, weights_only=True)["mfcc"][0].numpy()
    np.testing.assert_allclose(track.mfcc[:198], mfcc[:198], atol=1e-4, rtol=0)  # same audio from frame 0
    assert video.info["audio_pts_t0_s"] < -0.03  # the video stream starts 33 ms after the audio
    difference = np.abs(track.faces[:50].astype(np.float32) - reference).mean()
    unrelated = np.abs(track.faces[:50].astype(np.float32) - reference[::-1, :, ::-1]).mean()
    assert difference < 15.0 < unrelated, (difference, unrelated)


def _encode(path, *, audio: bool, n_frames: int = 12) -> None:
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), 30 + 10 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 640 * n_frames), np.float32), format="fltp",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = 16000, 0
            container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))


def test_cli_no_face_and_no_audio(tmp_path) -> None:
    from click.testing import CliRunner

    from asd_explain.cli.prep_authors import command

    _encode(tmp_path / "blank.mp4", audio=True)
    result = CliRunner().invoke(command, [str(tmp_path / "blank.mp4"), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0 and "no face track found" in result.output, result.output
    assert (tmp_path / "out" / "prep.json").is_file() and not list((tmp_path / "out").glob("track_*.npz"))
    _encode(tmp_path / "mute.mp4", audio=False)
    result = CliRunner().invoke(command, [str(tmp_path / "mute.mp4"), "--out", str(tmp_path / "out2"), "--quiet"])
    assert result.exit_code == 1 and "mute.mp4: video has no audio track" in result.output
    assert not (tmp_path / "out2").exists()


def test_save_and_load_round_trip(tmp_path) -> None:
    from asd_explain.pipeline.track import FaceTrack
    from asd_explain.pretrained_inputs.export import load_authors_track, save_authors_video
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, prepare_authors_tracks

    _encode(tmp_path / "clip.mp4", audio=True, n_frames=20)
    boxes = np.tile([30.0, 10.0, 60.0, 40.0], (20, 1)).astype(np.float32)
    known = FaceTrack(3, np.arange(20), boxes, np.ones(20, bool), np.ones(20, np.float32))
    video = prepare_authors_tracks(tmp_path / "clip.mp4", tracks=[known], progress=False)
    track = video.tracks[0]
    assert track.faces.shape == (20, 112, 112) and track.mfcc.shape == (80, 13) and len(track.audio) == 12800
    assert track.authors_mfcc().shape == (79, 13)
    regions = np.full((20, 4), 5.0)
    save_authors_video(video, tmp_path / "prep", AuthorsPrepConfig(), [regions], "dlib68")
    loaded, mouth = load_authors_track(tmp_path / "prep" / "track_3.npz")
    np.testing.assert_array_equal(loaded.faces, track.faces)
    np.testing.assert_array_equal(loaded.crop.windows, track.crop.windows)
    np.testing.assert_array_equal(mouth, regions)
