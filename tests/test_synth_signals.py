"""Known answers for the pieces of the synthetic corpus: frame rates, timestamps, turns, voices, mixing."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from data_prep.synth.annotations import annotation_rows, format_coord, format_timestamp
from data_prep.synth.config import CATEGORIES, parse_categories, parse_fps, parse_size
from data_prep.synth.speech import OFFSCREEN, SpeechPlan, Syllable, Utterance, envelope, plan_speech
from data_prep.synth.voices import Voice, mix_soundtrack, synthesize_utterance, voice_dominance_masks

SR = 16000


def test_parsers():
    assert parse_fps("29.97") == Fraction(30000, 1001) and parse_fps("30000/1001") == Fraction(30000, 1001)
    assert parse_fps("25") == 25 and parse_fps(24) == 24
    assert parse_size("640x360") == (640, 360)
    assert parse_categories("oc, ss") == ("OC", "SS") and parse_categories(None) == CATEGORIES
    for bad, fn in (("fast", parse_fps), ("0", parse_fps), ("641x360", parse_size), ("OC,XY", parse_categories)):
        with pytest.raises(ValueError):
            fn(bad)


def test_timestamps_and_coords_text():
    fps = Fraction(30000, 1001)
    stamps = [format_timestamp(i / fps) for i in range(300)]
    assert stamps[:3] == ["0.0", "0.033367", "0.066733"] and stamps[30] == "1.001"
    assert all(abs(float(s) * fps - i) < 1e-4 for i, s in enumerate(stamps))
    assert [format_coord(v) for v in (0.0, 1.0, 0.25, 0.1234567, -0.2, 1.3)] == ["0", "1", "0.25", "0.123457", "0",
                                                                                  "1"]


def test_instance_ids_count_label_changes():
    labels = np.array([[0], [0], [1], [1], [2], [0]])
    boxes = np.tile([0.1, 0.2, 0.3, 0.4], (6, 1, 1))
    rows = annotation_rows("v", np.arange(6) / 25, [1], ["v_0_1:1"], boxes, labels)
    assert [r[9] for r in rows] == ["v_0_1:1:0"] * 2 + ["v_0_1:1:1"] * 2 + ["v_0_1:1:2", "v_0_1:1:3"]
    assert [r[6] for r in rows][3:5] == ["SPEAKING_AUDIBLE", "SPEAKING_NOT_AUDIBLE"]


@pytest.mark.parametrize("category", CATEGORIES)
def test_turns_are_consistent(category):
    overlap = []
    for seed in range(8):
        plan = plan_speech(np.random.default_rng(seed), 3, 20.0, category)
        for person in range(3):
            own = sorted((u.start_s, u.end_s) for u in plan.utterances if u.speaker == person)
            assert all(a[1] <= b[0] for a, b in zip(own, own[1:]))  # nobody talks over themselves
            for m in (u for u in plan.mouthings if u.speaker == person):
                assert all(m.end_s + 0.3 <= s or m.start_s >= e + 0.3 for s, e in own)
        for u in plan.utterances + plan.mouthings:
            assert 0 <= u.start_s < u.end_s <= 20.0 and u.syllables
            inside = [u.start_s - 1e-9 <= s.onset_s and s.onset_s + s.duration_s <= u.end_s + 1e-9
                      for s in u.syllables]
            assert all(inside)
        t = np.arange(2000) / 100
        active = sum(((t >= u.start_s) & (t < u.end_s)).astype(int) for u in plan.utterances)
        overlap.append((active >= 2).mean())
        assert plan.has_offscreen_voice == any(u.speaker == OFFSCREEN for u in plan.utterances)
    if category == "SI":
        assert np.mean(overlap) > 0.08
    if category == "OC":
        assert np.mean(overlap) < 0.05


def _long_vowel() -> Utterance:
    return Utterance(0, 0.0, 1.0, syllables=[Syllable(0.0, 1.0, 1.0, 5)])


def test_voice_has_its_pitch():
    for f0 in (100.0, 210.0):
        voice = Voice(f0, 1.0, 0.0, 0.0, 1.0)
        _, sig = synthesize_utterance(np.random.default_rng(0), voice, _long_vowel(), SR)
        seg = sig[int(0.4 * SR): int(0.6 * SR)]
        ac = np.correlate(seg, seg, mode="full")[len(seg) - 1:]
        lo, hi = SR // 400, SR // 60
        period = lo + int(np.argmax(ac[lo:hi]))
        # intonation glides +-6 % around the mean pitch
        assert abs(SR / period / f0 - 1) < 0.12, (f0, SR / period)


def test_loudness_follows_the_syllable_envelope():
    rng = np.random.default_rng(1)
    syllables = [Syllable(0.1 + 0.22 * k, 0.2, 0.5 + 0.5 * (k % 2), k % 6) for k in range(8)]
    utt = Utterance(0, 0.1, 0.1 + 0.22 * 8, syllables=syllables)
    start, sig = synthesize_utterance(rng, Voice(130.0, 1.0, 0.01, 0.05, 1.0), utt, SR)
    frames = (len(sig) // 160)
    rms = np.sqrt((sig[: frames * 160].reshape(frames, 160) ** 2).mean(1))
    env = envelope(syllables, 0.1 + (np.arange(frames) + 0.5) / 100)
    assert np.corrcoef(rms, env)[0, 1] > 0.8


def test_muted_turn_is_not_in_the_mix():
    plan = SpeechPlan(
        utterances=[Utterance(0, 0.5, 1.5, syllables=[Syllable(0.5 + 0.2 * k, 0.2, 1.0, k % 6) for k in range(5)]),
                    Utterance(1, 2.0, 3.0, muted=True,
                              syllables=[Syllable(2.0 + 0.2 * k, 0.2, 1.0, k % 6) for k in range(5)])],
        mouthings=[], has_offscreen_voice=False, has_music=False, snr_db=30.0)
    voices = [Voice(120.0, 1.0, 0.01, 0.05, 1.0), Voice(220.0, 1.15, 0.01, 0.05, 1.0)]
    mix = mix_soundtrack(np.random.default_rng(0), plan, voices, voices[0], 3.5, SR)
    assert mix.dtype == np.float32 and len(mix) == 3.5 * SR and np.abs(mix).max() <= 0.8 + 1e-6

    def rms(a, b):
        return float(np.sqrt(np.mean(mix[int(a * SR): int(b * SR)] ** 2)))

    speech, muted, silence = rms(0.6, 1.4), rms(2.1, 2.9), rms(3.1, 3.4)
    assert speech > 10 * muted and muted < 2 * silence


def test_per_person_speech_is_in_the_mix_unchanged():
    plan = SpeechPlan(
        utterances=[Utterance(0, 0.5, 1.5, syllables=[Syllable(0.5 + 0.2 * k, 0.2, 1.0, k % 6) for k in range(5)]),
                    Utterance(1, 2.0, 3.0, syllables=[Syllable(2.0 + 0.2 * k, 0.2, 1.0, k % 6) for k in range(5)]),
                    Utterance(OFFSCREEN, 1.6, 1.9, syllables=[Syllable(1.6, 0.2, 1.0, 0)])],
        mouthings=[], has_offscreen_voice=True, has_music=False, snr_db=20.0)
    voices = [Voice(120.0, 1.0, 0.01, 0.05, 1.0), Voice(220.0, 1.15, 0.01, 0.05, 1.0)]
    plain = mix_soundtrack(np.random.default_rng(4), plan, voices, voices[0], 3.5, SR)
    parts = np.zeros((2, int(3.5 * SR)))
    mix = mix_soundtrack(np.random.default_rng(4), plan, voices, voices[0], 3.5, SR, per_person=parts)
    assert np.array_equal(mix, plain)  # asking for the parts changes nothing
    assert np.abs(parts[0, int(0.6 * SR):int(1.4 * SR)]).max() > 0.05 and not parts[0, int(2 * SR):].any()
    assert np.abs(parts[1, int(2.1 * SR):int(2.9 * SR)]).max() > 0.05 and not parts[1, :int(1.9 * SR)].any()
    assert not parts[:, int(1.61 * SR):int(1.79 * SR)].any()  # the off-screen voice is nobody's
    rest = mix[int(0.6 * SR):int(1.4 * SR)] - parts[0, int(0.6 * SR):int(1.4 * SR)]
    assert np.std(rest) < 0.2 * np.std(parts[0, int(0.6 * SR):int(1.4 * SR)])  # 20 dB SNR: the rest is noise


def test_voice_dominance_mask_marks_the_voice_band_while_it_sounds():
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    voice = np.where((t >= 0.5) & (t < 1.0), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0)[None]
    mix = voice[0] + 0.01 * rng.normal(size=t.size)
    masks = voice_dominance_masks(voice, mix, SR, 100, 200)
    assert masks.shape == (1, 200, 40)
    from asd_explain.data.audio_features import hz_to_mel
    band = int(np.argmin(np.abs(np.linspace(0, hz_to_mel(8000), 42)[1:-1] - hz_to_mel(1000))))  # filter centres
    assert masks[0, 60:90, band].all()  # steps centred in 0.605-0.895 s: the tone's band
    assert not masks[0, 60:90, 30:].any()  # 3.4-8 kHz: only noise there
    assert not masks[0, :45].any() and not masks[0, 105:].any()  # before / after the tone
    assert not voice_dominance_masks(np.zeros_like(voice), mix, SR, 100, 200).any()
