"""The corpus needs both senses: with the official AVA AP, mouth motion alone and the soundtrack alone
stay <= 0.75, while mouth opening correlated with the soundtrack's envelope reaches >= 0.90.

The heuristics read only the mp4 (decord frames and audio) and the face boxes of the merged CSV.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_prep.synth import generate_corpus
from data_prep.synth.heuristics import _windowed_corr, score_corpus, speech_envelope


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    # one video per category, 8 s each, default size and frame rates (about 20 s on 2 cores)
    corpus = generate_corpus(tmp_path_factory.mktemp("heur") / "c", videos=5, seconds=8.0, seed=0, workers=2,
                             progress=False)
    return score_corpus(corpus), pd.read_csv(corpus / "annotations" / "train_orig.csv")


def test_both_senses_needed(scores):
    scores, _ = scores
    ap = scores.average_precisions()
    assert 0.15 < scores.positives.mean() < 0.5
    assert ap["audio_visual"] >= 0.90, ap
    assert ap["visual"] <= 0.75, ap
    assert ap["audio"] <= 0.75, ap
    assert ap["audio_visual"] - max(ap["visual"], ap["audio"]) > 0.15, ap


def test_audio_only_is_the_same_for_every_face(scores):
    scores, table = scores
    table = table.assign(audio=scores.audio)
    spread = table.groupby(["video_id", "frame_timestamp"])["audio"].agg(lambda a: a.max() - a.min())
    assert spread.max() < 1e-12 and table.groupby("video_id")["entity_id"].nunique().max() >= 2


def test_windowed_correlation_and_envelope_on_known_signals():
    t = np.arange(200) / 25.0
    a = np.sin(2 * np.pi * 2 * t)
    assert np.allclose(_windowed_corr(a, 3 * a + 1, 25)[20:-20], 1.0, atol=1e-6)
    assert np.allclose(_windowed_corr(a, -a, 25)[20:-20], -1.0, atol=1e-6)
    sr = 16000
    tone = np.zeros(sr * 2)
    tone[sr // 2: sr] = np.sin(2 * np.pi * 1000 * np.arange(sr // 2) / sr)  # 1 kHz from 0.5 s to 1 s
    env = speech_envelope(tone, sr, np.arange(50) / 25.0, 25.0)
    assert np.allclose(env[15:23], 1 / np.sqrt(2), atol=0.02)  # RMS of a unit sine inside
    assert env[:10].max() < 1e-3 and env[28:].max() < 1e-3
