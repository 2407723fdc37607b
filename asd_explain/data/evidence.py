"""Reading the evidence side file ``evidence/<video_id>.npz`` of a synthetic corpus: what really happened
in each frame (written by ``data_prep.synth``, read here by the evidence checks and analyses).

Arrays (F frames, P people in entity-number order 1..P, T = 100 Hz steps):
    video_id ()                  str
    fps_num, fps_den ()          int, exact frame rate
    width, height ()             int, frame size in pixels
    sample_rate_hz ()            int, audio sample rate of the mp4
    frame_times_s (F,)           float64, frame_index / fps
    entity_ids (P,)              str, as in the CSVs
    entity_numbers (P,)          int, the <n> of the entity id
    face_box, body_box (F,P,4)   float64 normalised x1 y1 x2 y2 (face_box = the CSV box, body_box = body CSV)
    mouth_box (F,P,4)            float64 normalised box of the lips
    gesture_box (F,P,4)          float64 normalised box of both arms and hands
    mouth_open (F,P)             float32 0..1 mouth opening drawn
    gesture (F,P)                float32 0..1 gesture intensity drawn
    blink (F,P)                  float32 0..1 eyelid closure
    hand_over_mouth (F,P)        float32 0..1 hand raised to the chin (FO)
    microphone (P,)              bool, a microphone covers a mouth corner (FO)
    speaking (F,P)               bool, inside one of the person's own turns (own-voice activity)
    audible (F,P)                bool, speaking and that turn is in the soundtrack (not muted)
    mouthing (F,P)               bool, mouth moves out of step with every voice (distractor)
    label_id (F,P)               int8 0 NOT_SPEAKING, 1 SPEAKING_AUDIBLE, 2 SPEAKING_NOT_AUDIBLE
    voice_activity_100hz (P,T)   bool, own turn active at t = k / 100 s
    voice_audible_100hz (P,T)    bool, own audible turn active
    voice_envelope_100hz (P,T)   float32 0..1 syllable envelope of the person's voice (muted turns too)
    offscreen_activity_100hz (T,) bool, the off-screen voice speaks (HVN)
    voice_mask_mel_100hz (P,T,40) bool, the person's voice dominates that mel band at that step (power
                                 above everything else in the mix together, 25 ms Hann window centred at
                                 (k + 0.5) / 100 s, 40 HTK mel bands over 0-8 kHz as the log-mel features)
    metadata_json ()             str, the video's metadata.csv row as JSON
"""
from __future__ import annotations

import os

import numpy as np


def load_evidence(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of one evidence file (see the module docstring); scalars come back as Python values."""
    with np.load(path, allow_pickle=False) as data:
        return {k: (data[k].item() if data[k].ndim == 0 else data[k]) for k in data.files}
