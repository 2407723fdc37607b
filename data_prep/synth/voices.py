"""Sound: a voice per person (pitch, formants), background noise, music, and the mono mix.

A voice is a glottal pulse train at the person's pitch (90-250 Hz, with jitter and intonation), made
softer at high frequencies, shaped per syllable by three formant resonators of a vowel scaled by the
person's vocal-tract factor, with a short noise burst (consonant) at some syllable onsets, and
multiplied by the syllable envelope. Muted turns are left out of the mix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from .speech import SpeechPlan, Utterance, syllable_shape

# F1, F2, F3 of six vowels of an adult male voice (a, e, i, o, u, schwa), Hz.
VOWEL_FORMANTS_HZ = np.array(
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240],
     [500, 1500, 2500]], dtype=np.float64)
FORMANT_BANDWIDTHS_HZ = np.array([80.0, 110.0, 160.0])


@dataclass(frozen=True)
class Voice:
    f0_hz: float  # mean pitch
    formant_scale: float  # vocal-tract factor (1.0 male .. 1.2 female/child)
    jitter: float  # relative pitch jitter per period
    breathiness: float  # share of aspiration noise
    loudness: float  # linear gain


def random_voice(rng: np.random.Generator) -> Voice:
    """A male-like (90-150 Hz) or female-like (160-250 Hz) voice."""
    female = rng.random() < 0.5
    f0 = rng.uniform(160, 250) if female else rng.uniform(90, 150)
    scale = rng.uniform(1.1, 1.22) if female else rng.uniform(0.9, 1.05)
    return Voice(float(f0), float(scale), float(rng.uniform(0.005, 0.02)), float(rng.uniform(0.02, 0.12)),
                 float(rng.uniform(0.7, 1.0)))


def _resonator(signal: np.ndarray, freq_hz: float, bw_hz: float, sr: int) -> np.ndarray:
    r = np.exp(-np.pi * bw_hz / sr)
    theta = 2 * np.pi * min(freq_hz, 0.45 * sr) / sr
    a = [1.0, -2 * r * np.cos(theta), r * r]
    gain = (1 - r) * np.sqrt(1 - 2 * r * np.cos(2 * theta) + r * r)
    return lfilter([gain], a, signal)


def _glottal_source(rng: np.random.Generator, voice: Voice, n: int, sr: int) -> np.ndarray:
    """(n,) pulse train with jittered, slowly gliding pitch, low-passed like a glottal flow derivative."""
    t = np.arange(n) / sr
    glide = 1.0 + 0.06 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6.3))
    declination = 1.0 - 0.12 * t / max(t[-1], 1e-3) if n > 1 else 1.0
    f0 = voice.f0_hz * glide * declination
    period_jitter = np.repeat(rng.normal(1.0, voice.jitter, size=n // 40 + 1), 40)[:n]
    phase = np.cumsum(f0 * period_jitter / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = lfilter([1.0, -1.0], [1.0, -0.995], lfilter([1.0], [1.0, -0.94], pulses))  # tilt, no DC
    return source + voice.breathiness * rng.normal(0, 0.3, size=n)


def synthesize_utterance(rng: np.random.Generator, voice: Voice, utt: Utterance, sr: int) -> tuple[int, np.ndarray]:
    """(first sample, signal) of one turn; its envelope is the syllable envelope of ``utt``."""
    start = int(round(utt.start_s * sr))
    n = max(1, int(round(utt.end_s * sr)) - start)
    source = _glottal_source(rng, voice, n, sr)
    out = np.zeros(n)
    for syl in utt.syllables:
        i0 = int(round(syl.onset_s * sr)) - start
        i1 = min(n, i0 + int(round(syl.duration_s * sr)))
        if i1 <= i0:
            continue
        seg = source[i0:i1]
        formants = VOWEL_FORMANTS_HZ[syl.vowel] * voice.formant_scale
        voiced = sum(_resonator(seg, f, bw, sr) * w
                     for f, bw, w in zip(formants, FORMANT_BANDWIDTHS_HZ, (1.0, 0.6, 0.3), strict=True))
        x = (np.arange(i1 - i0) + 0.5) / (i1 - i0)
        env = syllable_shape(x) * syl.peak
        if rng.random() < 0.6:  # consonant burst at the onset
            burst_n = int(min(i1 - i0, rng.uniform(0.02, 0.05) * sr))
            burst = lfilter([1.0, -1.0], [1.0], rng.normal(0, 1, size=burst_n)) * 0.15
            voiced[:burst_n] += burst * np.hanning(2 * burst_n)[burst_n:]
        out[i0:i1] += voiced * env
    return start, out * voice.loudness / (np.abs(out).max() + 1e-9)


def background_noise(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) unit-RMS mix of pink-ish noise, a little white hiss and mains hum."""
    white = rng.normal(0, 1, size=n)
    pinkish = lfilter([1.0], [1.0, -0.97], white)
    hum_hz = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(n) / sr
    noise = pinkish / (pinkish.std() + 1e-9) + 0.3 * rng.normal(0, 1, size=n)
    noise += 0.3 * np.sin(2 * np.pi * hum_hz * t) + 0.1 * np.sin(2 * np.pi * 3 * hum_hz * t)
    return noise / (noise.std() + 1e-9)


def music(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) unit-RMS music bed: chords of harmonic tones changing every 1-2 s, a beat, hi-hat ticks."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    bpm = rng.uniform(80, 130)
    beat = 60.0 / bpm
    pos = 0.0
    while pos < t[-1]:
        length = float(rng.uniform(1.0, 2.0))
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        sel = (t >= pos) & (t < pos + length)
        for semis in (0, 4 if rng.random() < 0.5 else 3, 7):
            f = root * 2 ** (semis / 12)
            out[sel] += sum(np.sin(2 * np.pi * f * h * t[sel]) / h**1.5 for h in (1, 2, 3))
        pos += length
    pulse = 0.55 + 0.45 * np.cos(2 * np.pi * (t % beat) / beat) ** 8
    ticks = rng.normal(0, 1, size=n) * (np.exp(-((t % (beat / 2)) / 0.01)))
    out = out * pulse + 0.8 * lfilter([1.0, -1.0], [1.0], ticks)
    return out / (out.std() + 1e-9)


def mix_soundtrack(rng: np.random.Generator, plan: SpeechPlan, voices: list[Voice], offscreen: Voice,
                   seconds: float, sr: int, per_person: np.ndarray | None = None) -> np.ndarray:
    """(N,) float32 mono soundtrack in [-1, 1]: audible turns + off-screen voice + music + noise.

    ``per_person``: an optional ``(P, N)`` float array (P = len(voices)) that receives each on-screen
    person's audible speech as it is in the returned mix (same final scaling), so mix - per_person[p] is
    everything else; the mix itself does not depend on whether it is asked for."""
    n = int(round(seconds * sr))
    speech = np.zeros(n)
    for utt in plan.utterances:
        voice = offscreen if utt.speaker < 0 else voices[utt.speaker]
        start, sig = synthesize_utterance(rng, voice, utt, sr)
        if utt.muted:
            continue  # still drawn so the random stream does not depend on muting
        stop = min(n, start + len(sig))
        speech[start:stop] += sig[: stop - start]
        if per_person is not None and utt.speaker >= 0:
            per_person[utt.speaker, start:stop] += sig[: stop - start]
    active = np.abs(speech) > 1e-4
    speech_rms = float(np.sqrt(np.mean(speech[active] ** 2))) if active.any() else 0.1
    noise_rms = speech_rms / 10 ** (plan.snr_db / 20)
    mix = speech + noise_rms * background_noise(rng, n, sr)
    if plan.has_music:
        mix += speech_rms * 10 ** (-float(rng.uniform(4.0, 10.0)) / 20) * music(rng, n, sr)
    peak = np.abs(mix).max()
    scale = 0.8 / peak if peak > 0 else 1.0
    if per_person is not None:
        per_person *= scale
    return (mix * scale).astype(np.float32)


def voice_dominance_masks(per_person: np.ndarray, mix: np.ndarray, sr: int, rate_hz: int, n_steps: int,
                          n_mels: int = 40, window_s: float = 0.025) -> np.ndarray:
    """``(P, n_steps, n_mels) bool``: where each person's voice dominates the soundtrack (ideal binary mask).

    Step k is the Hann window of ``window_s`` centred at (k + 0.5) / rate_hz; a bin belongs to person p
    when p's voice has more power in that mel band (HTK mel filters over 0 - sr/2, as the log-mel
    features use) than everything else in the mix together (other voices, the off-screen voice, music,
    noise): a local SNR above 0 dB. These are the voice's time-frequency regions of the spectrogram.
    """
    from asd_explain.data.audio_features import centred_windows, mel_filterbank

    window = int(round(window_s * sr))
    n_fft = 1 << max(window - 1, 1).bit_length()
    centres_s = (np.arange(n_steps) + 0.5) / rate_hz
    taper = np.hanning(window + 2)[1:-1]
    bank = mel_filterbank(n_mels, n_fft, sr).astype(np.float64)

    def band_power(signal: np.ndarray) -> np.ndarray:
        frames = centred_windows(signal, centres_s, window, sr) * taper  # outside the audio: silence
        spectrum = np.fft.rfft(frames, n=n_fft, axis=1)
        return (spectrum.real ** 2 + spectrum.imag ** 2) @ bank

    mix = mix.astype(np.float64)
    masks = np.zeros((len(per_person), n_steps, n_mels), dtype=bool)
    for p, voice in enumerate(per_person):
        if np.any(voice):
            masks[p] = band_power(voice) > band_power(mix - voice)
    return masks
