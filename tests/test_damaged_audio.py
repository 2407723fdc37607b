"""One undecodable audio packet: decoding skips it, keeps every other packet at its time (silence where the
lost one was) and says how many seconds were lost, in ``explain`` and in ``asd-prep``."""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from asd_explain.data.store import TrackStore
from asd_explain.media.decode import decode_audio_checked, probe_streams
from asd_explain.media.frames import open_video
from asd_explain.pipeline.explain_video import ExplainVideoOptions, _soundtrack, explain_video
from data_prep.prepare import prepare_store

DAMAGE_AT_S = 1.0


def damage_one_audio_packet(source: Path, target: Path, at_s: float = DAMAGE_AT_S) -> tuple[float, float]:
    """Copy ``source`` (stream copy) with the audio packet nearest ``at_s`` replaced by random bytes of the
    same size; returns that packet's (start, duration) in seconds of the audio stream."""
    with av.open(str(source)) as probe:
        stream = probe.streams.audio[0]
        times = [(p.pts, p.duration) for p in probe.demux(stream) if p.pts is not None and p.size]
        base = float(stream.time_base)
    pts, duration = min(times, key=lambda t: abs(t[0] * base - at_s))
    rng = np.random.default_rng(0)
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            index = packet.stream.index
            if packet.stream.type == "audio" and packet.pts == pts:
                garbage = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                garbage.pts, garbage.dts, garbage.duration = packet.pts, packet.dts, packet.duration
                garbage.time_base = packet.time_base
                packet = garbage
            packet.stream = streams[index]
            dst.mux(packet)
    return pts * base, duration * base


def energies(samples: np.ndarray, t0_s: float, seconds: list[tuple[float, float]], rate: int) -> np.ndarray:
    """Sum of squares of ``samples`` (sample 0 at ``t0_s``) over each (start, end) span in seconds."""
    return np.array([float((samples[int(round((a - t0_s) * rate)):int(round((b - t0_s) * rate))] ** 2).sum())
                     for a, b in seconds])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from data_prep.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("synth"), preset="tiny", videos=1, seconds=3.0, seed=31,
                           progress=False)


@pytest.fixture(scope="module")
def damaged(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    clean = next((corpus / "videos").glob("*.mp4"))
    span = damage_one_audio_packet(clean, folder / clean.name)
    return clean, folder / clean.name, span


def undamaged_spans(span: tuple[float, float], end_s: float) -> list[tuple[float, float]]:
    """Half-second spans that keep 0.15 s away from the damaged packet (the AAC decoder's overlap)."""
    spans = [(a, a + 0.5) for a in np.arange(0.0, end_s - 0.5, 0.5)]
    return [(a, b) for a, b in spans if b < span[0] - 0.15 or a > span[0] + span[1] + 0.15]


def test_decoding_skips_the_packet_keeps_the_rest_in_place_and_counts_the_loss(damaged):
    clean, broken, span = damaged
    good = decode_audio_checked(clean, 0.0, 10.0, seek=False)
    bad = decode_audio_checked(broken, 0.0, 10.0, seek=False)
    assert good.damaged_packets == 0 and bad.damaged_packets == 1
    assert bad.lost_s == pytest.approx(span[1], abs=1e-9) and f"{span[1]:.3f} s of audio lost" in bad.note()
    assert len(bad.samples) == len(good.samples) and bad.t0_s == good.t0_s
    spans = undamaged_spans(span, len(good.samples) / 16000)
    assert len(spans) >= 3 and any(a > span[0] for a, _ in spans)  # seconds after the damage are checked
    np.testing.assert_allclose(energies(bad.samples, bad.t0_s, spans, 16000),
                               energies(good.samples, good.t0_s, spans, 16000), rtol=0.01)


def test_explain_keeps_the_other_audio_and_says_what_was_lost(corpus, damaged, untrained_checkpoint, tmp_path):
    clean, broken, span = damaged
    results = []
    for path in (clean, broken):
        notes: list[str] = []
        audio16, t0, original, lost_s = _soundtrack(path, probe_streams(path), open_video(path), notes)
        results.append((audio16, t0, original, lost_s, notes))
    (good, t0_good, orig_good, _, _), (bad, t0_bad, orig_bad, lost_s, notes) = results
    assert lost_s == pytest.approx(span[1], abs=1e-9)
    assert any("1 damaged audio packet(s) skipped" in n for n in notes)
    spans = undamaged_spans(span, len(good) / 16000 - 0.5)
    np.testing.assert_allclose(energies(bad, t0_bad, spans, 16000), energies(good, t0_good, spans, 16000), rtol=0.01)
    rate = orig_good[1]
    np.testing.assert_allclose(energies(orig_bad[0], 0.0, spans, rate), energies(orig_good[0], 0.0, spans, rate),
                               rtol=0.01)
    summary = explain_video(broken, untrained_checkpoint, tmp_path / "out", ExplainVideoOptions(
        boxes_csv=str(corpus / "annotations"), render=False, progress=False))
    assert summary["audio_lost_s"] == pytest.approx(span[1], abs=1e-6)
    assert any("damaged audio packet" in n for n in summary["notes"])


def test_asd_prep_keeps_the_other_audio_and_reports_the_loss(corpus, damaged, tmp_path):
    clean, broken, span = damaged
    stores = {}
    for name, video in (("clean", clean), ("damaged", broken)):
        folder = tmp_path / f"videos_{name}"
        folder.mkdir()
        shutil.copy(video, folder / video.name)
        report = prepare_store("ava", folder, corpus / "annotations" / "per_video", tmp_path / name, progress=False)
        stores[name] = (TrackStore(tmp_path / name), report)
    report = stores["damaged"][1]
    issues = [i for i in report.file_issues if i.kind == "damaged_audio"]
    assert len(issues) == 1 and f"{span[1]:.3f} s of audio lost" in issues[0].reason
    assert "damaged audio packet" in report.text()
    assert report.rows_stored == stores["clean"][1].rows_stored  # no row is lost for it
    for entity in stores["clean"][0].entity_ids:
        good, bad = stores["clean"][0].read(entity), stores["damaged"][0].read(entity)
        start = float(good.timestamps_s[0]) - 0.5 / good.fps  # the track audio's sample 0
        spans = [(a, b) for a, b in undamaged_spans(span, float(good.timestamps_s[-1]))
                 if a >= start and b <= start + len(good.audio) / 16000]
        assert spans
        np.testing.assert_allclose(energies(bad.audio.astype(np.float64), start, spans, 16000),
                                   energies(good.audio.astype(np.float64), start, spans, 16000), rtol=0.01)
    # a resumed run says it again
    again = prepare_store("ava", tmp_path / "videos_damaged", corpus / "annotations" / "per_video",
                          tmp_path / "damaged", progress=False)
    assert [i.kind for i in again.file_issues] == ["damaged_audio"]
