"""Preparing hand-made videos: bad input is reported (file, row, reason) and skipped; audio timing at
48 kHz, with a stream start offset and in .mkv, lands within 1 ms of the annotated times."""
from __future__ import annotations

import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from asd_explain.data.store import TrackStore
from asd_explain.media.decode import decode_audio, nearest_frames
from data_prep.prepare import prepare_store
from data_prep.settings import PrepSettings

W, H = 160, 96
CLICK_TIMES_S = (0.30, 0.71, 1.13)


def encode_video(path, *, seconds=1.6, fps=25, audio=True, sample_rate=48000, start_s=0.0, fmt=None,
                 options=None, texture=False):
    """H.264 video (a bright square moving right) + AAC mono audio with 1 ms clicks at CLICK_TIMES_S.

    ``start_s`` shifts both streams' timestamps (a file whose first frame is at start_s)."""
    fps = Fraction(fps).limit_denominator(1001)
    n_frames = int(round(seconds * fps))
    with av.open(str(path), "w", format=fmt, options=options or {}) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.codec_context.time_base = 1 / fps
        if audio:
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
        signal = np.zeros(int(seconds * sample_rate), np.float32)
        for t in CLICK_TIMES_S:
            signal[int(t * sample_rate):int(t * sample_rate) + sample_rate // 1000] = 0.8
        cursor = 0

        def audio_until(end: int) -> int:  # interleaved with the video, as real files are
            nonlocal cursor
            while audio and cursor < min(end, len(signal)):
                chunk = av.AudioFrame.from_ndarray(signal[None, cursor:cursor + 1024].copy(), format="flt",
                                                   layout="mono")
                chunk.sample_rate = sample_rate
                chunk.pts = cursor + int(round(start_s * sample_rate))
                container.mux(sound.encode(chunk))
                cursor += 1024

        for i in range(n_frames):
            img = np.full((H, W, 3), 40, np.uint8)
            if texture:  # noise: big packets, so most of the file is media data
                img = np.random.default_rng(i).integers(0, 256, (H, W, 3), dtype=np.uint8)
            img[30:60, 5 + i * 2:35 + i * 2] = (250, 200, 90)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i + int(round(start_s * fps))
            container.mux(video.encode(frame))
            audio_until(int((i + 1) * sample_rate / fps))
        container.mux(video.encode(None))
        audio_until(len(signal))
        if audio:
            container.mux(sound.encode(None))
    return path


def rows_csv(video_id, n_frames, fps=25, entity="1"):
    return "".join(f"{video_id},{i / fps:.2f},0.1,0.2,0.4,0.8,NOT_SPEAKING,{video_id}_0_1:{entity}\n"
                   for i in range(n_frames))


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    videos, ann = root / "videos", root / "ann"
    videos.mkdir()
    ann.mkdir()
    encode_video(videos / "good.mp4")
    encode_video(videos / "other.mkv", fmt="matroska")
    encode_video(videos / "mute.mp4", audio=False)
    data = (videos / "good.mp4").read_bytes()
    (videos / "cut.mp4").write_bytes(data[: len(data) // 2])
    encode_video(videos / "faststart.mp4", options={"movflags": "faststart"}, texture=True)
    data = (videos / "faststart.mp4").read_bytes()
    (videos / "cut_fs.mp4").write_bytes(data[: len(data) // 2])  # index intact, second half of the data gone
    (videos / "faststart.mp4").unlink()
    (videos / "junk.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    good = rows_csv("good", 30) + "\n".join([
        "good,0.5,0.1,0.2,0.4,0.8,LAUGHING,good_0_1:1",        # 31 unknown label
        "good,half,0.1,0.2,0.4,0.8,NOT_SPEAKING,good_0_1:1",   # 32 non-numeric timestamp
        "good,0.6,0.1,0.2,1.4,0.8,NOT_SPEAKING,good_0_1:1",    # 33 box outside [0, 1]
        "good,0.7,0.5,0.2,0.4,0.8,NOT_SPEAKING,good_0_1:1",    # 34 x2 < x1
        "good,0.04,0.1,0.2,0.4,0.8,NOT_SPEAKING,good_0_1:1",   # 35 duplicate of line 2
        "good,0.8,0.1,0.2,0.4,NOT_SPEAKING,good_0_1:1",        # 36 missing column
        "good,9.5,0.1,0.2,0.4,0.8,NOT_SPEAKING,good_0_1:2",    # 37 past the video's end
        "../good,0.1,0.1,0.2,0.4,0.8,NOT_SPEAKING,x:1",        # 38 '..' in video_id
        "sub/good,0.1,0.1,0.2,0.4,0.8,NOT_SPEAKING,x:1",       # 39 path separator
    ]) + "\n"
    (ann / "good-activespeaker.csv").write_text(good)
    for video_id in ("other", "mute", "cut", "junk", "absent"):
        (ann / f"{video_id}-activespeaker.csv").write_text(rows_csv(video_id, 10))
    (ann / "cut_fs-activespeaker.csv").write_text(rows_csv("cut_fs", 40))
    return root


def test_bad_input_is_reported_and_the_rest_prepared(bad_corpus, tmp_path):
    report = prepare_store("ava", bad_corpus / "videos", bad_corpus / "ann", tmp_path / "store", progress=False)
    good_csv = str(bad_corpus / "ann" / "good-activespeaker.csv")
    found = {(issue.file, issue.row): issue.kind for issue in report.skipped}
    expected = {31: "unknown_label", 32: "bad_timestamp", 33: "bad_box", 34: "bad_box", 35: "duplicate_row",
                36: "missing_column", 37: "past_video_end", 38: "unsafe_video_id", 39: "unsafe_video_id"}
    for line, kind in expected.items():
        assert found[(good_csv, line)] == kind, line
    for video_id, kind in (("mute", "no_audio"), ("cut", "corrupt_video"), ("junk", "corrupt_video"),
                           ("absent", "missing_video")):
        csv_path = str(bad_corpus / "ann" / f"{video_id}-activespeaker.csv")
        assert [found.get((csv_path, line)) for line in range(1, 11)] == [kind] * 10, video_id
    # the readable first part of a truncated file is kept, the rest reported row by row
    cut_csv = str(bad_corpus / "ann" / "cut_fs-activespeaker.csv")
    cut_kinds = [found.get((cut_csv, line)) for line in range(1, 41)]
    kept = cut_kinds.index(None, 0) == 0 and cut_kinds.count(None)
    assert 10 <= kept < 30 and set(cut_kinds[kept:]) <= {"past_video_end", "frame_decode_error", "no_audio_at_time"}
    assert report.rows_in == 30 + 9 + 5 * 10 + 40
    assert report.rows_stored == 30 + 10 + kept  # good (30 valid rows), other.mkv, start of cut_fs
    assert report.rows_in == report.rows_stored + report.rows_skipped
    store = TrackStore(tmp_path / "store")
    assert sorted(store.entity_ids) == ["cut_fs_0_1:1", "good_0_1:1", "other_0_1:1"]
    assert all(store.video_status[v]["complete"] for v in ("good", "other"))
    text = report.text(max_examples=100)
    assert f"{good_csv}:31: unknown label 'LAUGHING'" in text
    reports = sorted((tmp_path / "store" / "reports").glob("*-skipped.csv"))
    assert len(reports) == 1 and f"{good_csv},37,past_video_end" in reports[0].read_text()


def test_missing_video_is_prepared_once_it_appears(bad_corpus, tmp_path):
    out = tmp_path / "store"
    prepare_store("ava", bad_corpus / "videos", bad_corpus / "ann" / "good-activespeaker.csv", out, progress=False)
    videos = tmp_path / "videos"
    shutil.copytree(bad_corpus / "videos", videos)
    (tmp_path / "absent-activespeaker.csv").write_text(rows_csv("absent", 10))
    first = prepare_store("ava", videos, tmp_path / "absent-activespeaker.csv", out, progress=False)
    assert [i.kind for i in first.skipped] == ["missing_video"] * 10
    shutil.copy(videos / "good.mp4", videos / "absent.mp4")
    second = prepare_store("ava", videos, tmp_path / "absent-activespeaker.csv", out, progress=False)
    assert second.rows_stored == 10 and second.rows_skipped == 0


def click_positions(audio: np.ndarray, threshold: float) -> np.ndarray:
    """Sample index of each click onset (first sample over threshold after silence)."""
    loud = np.abs(audio.astype(np.float64)) > threshold
    onsets = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    return onsets[np.insert(np.diff(onsets) > 800, 0, True)] if len(onsets) else onsets


@pytest.mark.parametrize("fmt,start_s,fps", [(None, 0.0, 25), (None, 2.0, 30), ("matroska", 0.0, 30000 / 1001)])
def test_audio_of_a_track_starts_half_a_frame_before_its_first_timestamp(tmp_path, fmt, start_s, fps):
    name = "v.mkv" if fmt else "v.mp4"
    (tmp_path / "videos").mkdir()
    encode_video(tmp_path / "videos" / name, fps=fps, start_s=start_s, fmt=fmt)
    times = [round(i / fps, 3) for i in range(2, 38)]
    (tmp_path / "v-activespeaker.csv").write_text("".join(
        f"v,{t},0.1,0.2,0.4,0.8,SPEAKING_AUDIBLE,v_0_1:1\n" for t in times))
    report = prepare_store("ava", tmp_path / "videos", tmp_path / "v-activespeaker.csv", tmp_path / "store",
                           settings=PrepSettings(body_source="none"), progress=False)
    assert report.rows_stored == len(times)
    track = TrackStore(tmp_path / "store").read("v_0_1:1")
    assert track.body is None and track.fps == pytest.approx(float(fps), rel=1e-6)
    onsets_s = track.audio_start_s + click_positions(track.audio, 8000) / 16000
    # every click inside the track is found within 1 ms of its true time
    inside = [t for t in CLICK_TIMES_S if track.audio_start_s + 0.01 < t < track.timestamps_s[-1]]
    assert len(onsets_s) == len(inside) >= 2
    np.testing.assert_allclose(onsets_s, inside, atol=0.001)
    # each row uses the nearest real frame
    np.testing.assert_array_equal(track.frame_indices, np.round(np.array(times) * fps).astype(int))
    assert np.abs(track.frame_times_s - track.timestamps_s).max() <= 0.5 / fps


def test_decode_audio_from_a_seek_point_equals_decoding_from_zero(tmp_path):
    path = encode_video(tmp_path / "a.mp4", seconds=6.0)
    late, t_late = decode_audio(path, 4.0, 5.0)
    full, t_full = decode_audio(path, 0.0, 6.0)
    assert t_late > t_full and t_late <= 3.0
    offset = int(round((t_late - t_full) * 16000))
    np.testing.assert_allclose(late[16000:20000], full[offset + 16000:offset + 20000], atol=2e-3)


def test_nearest_frames_maps_to_real_frames_and_flags_the_outside():
    times = np.arange(10) / 30.0
    indices, inside = nearest_frames(times, np.array([0.0, 0.049, 0.051, 0.31, 0.40, -0.2]), 30.0)
    assert indices.tolist()[:4] == [0, 1, 2, 9]
    assert inside.tolist() == [True, True, True, True, False, False]


def test_pyav_reader_with_seeks_equals_a_straight_decode_and_decord(tmp_path):
    from asd_explain.media.frames import DecordFrames, PyAVFrames

    path = tmp_path / "long.mp4"
    with av.open(str(path), "w") as container:  # 14 s, one keyframe every 250 frames (x264's default)
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        ramp = np.add.outer(np.arange(H), np.arange(W))
        for i in range(350):
            img = (np.stack([ramp + i, ramp * 2 - i, np.roll(ramp, i, axis=1)], axis=-1) % 256).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    with av.open(str(path)) as container:
        straight = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    wanted = np.array([0, 1, 2, 140, 141, 260, 261, 262, 349])  # gaps > 5 s force seeks
    reader = PyAVFrames(path)
    assert len(reader) == 350 and reader.fps == 25.0
    got = list(reader.iter_frames(wanted))
    assert [i for i, _ in got] == wanted.tolist()
    for index, frame in got:
        np.testing.assert_array_equal(frame, straight[index])
    for index, frame in DecordFrames(path).iter_frames(wanted):
        np.testing.assert_array_equal(frame, straight[index])


def test_opening_a_video_switches_off_the_gil_taking_log_callback(tmp_path):
    """torchvision installs PyAV's Python log callback on import; decoder threads that log while their
    codec context is freed (with the GIL held) then hang the process. ``open_av`` switches it off."""
    import torchvision.io  # noqa: F401  (the import that sets av.logging to ERROR)

    from asd_explain.media.decode import open_av
    from asd_explain.media.frames import open_video

    av.logging.set_level(av.logging.ERROR)
    path = encode_video(tmp_path / "v.mp4", audio=False)
    with open_av(path) as container:
        assert len(container.streams.video) == 1
    assert av.logging.get_level() is None
    av.logging.set_level(av.logging.ERROR)
    frames = open_video(path)
    assert sum(frame is not None for _, frame in frames.iter_frames(np.arange(len(frames)))) == 40
    assert av.logging.get_level() is None
