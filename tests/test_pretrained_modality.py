"""Modality shares that move, and follow occlusion when the audio is taken away (real clips, published models).

The shown-share rule (``shown_shares``) on constructed importance, then on both real clips: with silence in
place of the clip's own speech the default audio share falls as the audio occlusion does, on both clips and
both models; the shares shown by default move on every track. Needs ``../shared`` (skipped without it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asd_explain.explain.shown_shares import occlusion_shares, shares_move, shown_shares

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLIPS = [SHARED / "data" / "real" / f"talking_head_{k}.mp4" for k in (1, 2)]


def test_auto_skips_shares_that_do_not_move():
    t = np.linspace(0, 1, 50)
    importance = {
        "se_mass": {"audio": np.full(50, 0.3255), "face": np.full(50, 0.3348), "body": np.full(50, 0.3397)},
        "kept_channels": {"audio": 0.2 + 0.2 * t, "face": 0.5 - 0.2 * t, "body": np.full(50, 0.3)},
        "occlusion": {"audio": 0.4 * t, "face": np.zeros(50), "body": np.zeros(50)},
    }
    assert not shares_move(importance["se_mass"])  # 0.33 / 0.33 / 0.34 on every frame
    assert shown_shares(importance)[0] == "kept_channels"
    frozen = {**importance, "kept_channels": {m: np.full(50, 1 / 3) for m in ("audio", "face", "body")}}
    kind, shares = shown_shares(frozen)
    assert kind == "occlusion" and shares["audio"][-1] == pytest.approx(1.0) and shares["audio"][0] == 0.0
    assert shown_shares(frozen, "se_mass")[0] == "se_mass"
    with pytest.raises(ValueError, match="native_gate"):
        shown_shares(frozen, "native_gate")


def test_occlusion_shares_are_shares_of_the_absolute_effects():
    shares = occlusion_shares({"audio": np.array([0.6, -0.1, 0.0]), "face": np.array([0.2, 0.3, 0.0])})
    np.testing.assert_allclose(shares["audio"], [0.75, 0.25, 0.0])
    np.testing.assert_allclose(shares["face"], [0.25, 0.75, 0.0])


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    if not all(c.is_file() for c in CLIPS) or not (SHARED / "weights" / "lr-asd").is_dir():
        pytest.skip("real clips or weights not in ../shared")
    from asd_explain.pretrained_inputs.prepare import prepare_authors_tracks

    return [prepare_authors_tracks(c, progress=False).tracks[0] for c in CLIPS]


@pytest.mark.parametrize("name", ["light-asd", "lr-asd"])
def test_default_audio_share_follows_occlusion_when_the_audio_goes(tracks, name, monkeypatch):
    from asd_explain.pipeline.modality_check import audio_swap_check
    from asd_explain.pipeline.pretrained_track import load_explained_model

    monkeypatch.setenv("ASD_EXPLAIN_WEIGHTS", str(SHARED / "weights"))
    rows = audio_swap_check(load_explained_model(name), tracks, ["th1", "th2"])
    silence = [r for r in rows if r["variant"] == "silence"]
    original = {r["track"]: r for r in rows if r["variant"] == "original"}
    assert len(silence) == 2
    for row in silence:
        base = original[row["track"]]
        assert row["audio_occlusion"] < base["audio_occlusion"] - 0.5  # silence: the audio no longer speaks
        assert row["audio_share"] < base["audio_share"] - 0.03, row
        assert row["agrees"]


@pytest.mark.parametrize("name", ["light-asd", "lr-asd"])
def test_shown_shares_move_on_both_clips(tracks, name, monkeypatch):
    from asd_explain.explain.map_settings import MapSettings
    from asd_explain.pipeline.pretrained_track import explain_authors_track, load_explained_model

    monkeypatch.setenv("ASD_EXPLAIN_WEIGHTS", str(SHARED / "weights"))
    model = load_explained_model(name)
    for track in tracks:
        importance = explain_authors_track(model, track.faces, track.mfcc, settings=MapSettings(),
                                           scoring="single-pass").explanation.importance
        kind, shares = shown_shares(importance)
        assert kind in ("kept_channels", "occlusion") and shares_move(shares)
        assert not shares_move(importance["se_mass"])  # identity-at-init SE: 0.5 / 0.5 on every frame
