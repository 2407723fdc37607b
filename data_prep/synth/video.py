"""One synthetic video: plan it, synthesise its soundtrack, render and encode it, write its evidence.

Every random choice comes from the video's own seed (split into independent streams for the scene,
the speech plan, the audio, the motion and the camera noise), so a video is the same whatever else
the corpus holds and however many workers make it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from asd_explain.constants import SAMPLE_RATE_HZ

from .annotations import annotation_rows, entity_id, write_per_video_csv
from .config import ACTIVITY_RATE_HZ, LABEL_ID, VideoSpec
from .evidence import write_evidence
from .media import write_mp4
from .motion import Motion, make_motion
from .plan import VideoPlan
from .render import draw_arms, draw_body, draw_head, draw_microphone, finish_frame, noise_frames, person_geometry
from .scene import Person, camera_path, make_background, make_camera, make_people, n_people_for
from .speech import OFFSCREEN, activity, envelope, plan_speech
from .voices import mix_soundtrack, random_voice, voice_dominance_masks

BOX_NAMES = ("face_box", "mouth_box", "gesture_box", "body_box")
VOICE_MASK_MELS = 40  # mel bands of the voice masks: the default log-mel features'


def plan_video(spec: VideoSpec) -> VideoPlan:
    """Everything about a video except its pixels."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(5)]
    scene_rng, speech_rng, audio_rng, motion_rng, noise_rng = streams
    n_people = n_people_for(scene_rng, spec.category)
    people = make_people(scene_rng, spec, n_people)
    camera = make_camera(scene_rng, spec)
    k = camera.low_res_factor
    background = make_background(scene_rng, spec.width // k, spec.height // k, camera.margin // k)
    times = spec.frame_times_s()
    fps = float(spec.fps)
    cam = camera_path(scene_rng, camera, len(times), fps)
    duration = spec.n_frames / fps
    speech = plan_speech(speech_rng, n_people, duration, spec.category)
    voices = np.zeros((n_people, int(round(duration * SAMPLE_RATE_HZ))))
    audio = mix_soundtrack(audio_rng, speech, [p.voice for p in people], random_voice(scene_rng), duration,
                           SAMPLE_RATE_HZ, per_person=voices)
    motion = make_motion(motion_rng, people, speech, times, fps, spec.category == "FO")
    noise = noise_frames(noise_rng, camera.noise_sigma, spec.width, spec.height)
    return VideoPlan(spec, people, camera, cam, background, speech, motion, audio, voices, noise)


def _frames(plan: VideoPlan, boxes: dict[str, np.ndarray]):
    """Yield the RGB frames (H, W, 3) uint8; fill ``boxes`` (F, P, 4) output pixels as a side effect."""
    spec, cam_ss, m = plan.spec, plan.camera, plan.motion
    k = cam_ss.low_res_factor
    margin = cam_ss.margin // k
    h, w = spec.height // k, spec.width // k
    for f in range(spec.n_frames):
        off = np.round(plan.cam_path[f] / k).astype(int)
        img = plan.background[margin + off[1]:margin + off[1] + h, margin + off[0]:margin + off[0] + w].copy()
        for p, person in enumerate(plan.people):
            g = person_geometry(person, m.head_dx[f, p], m.head_dy[f, p], m.gesture[f, p], m.hand_phase[f, p],
                                m.hand_over_mouth[f, p], m.mouth_open[f, p], off * k)
            for name in BOX_NAMES:
                boxes[name][f, p] = getattr(g, name)
            draw_body(img, person, g, 1.0 / k)
            draw_head(img, person, g, m.mouth_open[f, p], m.blink[f, p], 1.0 / k)
            draw_arms(img, person, g, 1.0 / k)
            if person.microphone:
                draw_microphone(img, person, g, 1.0 / k)
        osd = None
        if spec.category == "SS":
            t = f * spec.fps_den / spec.fps_num
            osd = f"CAM {spec.index % 9 + 1:02d}  12:{int(t) // 60:02d}:{int(t) % 60:02d}"
        yield finish_frame(img, cam_ss, (spec.width, spec.height), plan.noise[f % len(plan.noise)], osd)


def label_ids(motion: Motion) -> np.ndarray:
    """(F, P) 0 NOT_SPEAKING, 1 SPEAKING_AUDIBLE, 2 SPEAKING_NOT_AUDIBLE."""
    labels = np.full(motion.speaking.shape, LABEL_ID["NOT_SPEAKING"], dtype=np.int8)
    labels[motion.speaking & motion.audible] = LABEL_ID["SPEAKING_AUDIBLE"]
    labels[motion.speaking & ~motion.audible] = LABEL_ID["SPEAKING_NOT_AUDIBLE"]
    return labels


def activity_tracks(plan: VideoPlan) -> dict[str, np.ndarray]:
    """Per person voice activity and envelope at 100 Hz (P, T), and the off-screen voice (T,)."""
    n = int(round(plan.spec.n_frames / float(plan.spec.fps) * ACTIVITY_RATE_HZ))
    times = np.arange(n) / ACTIVITY_RATE_HZ
    utts = plan.speech.utterances
    per = [[u for u in utts if u.speaker == p] for p in range(len(plan.people))]
    off = [u for u in utts if u.speaker == OFFSCREEN]
    return {
        "voice_activity_100hz": np.stack([activity(u, times) for u in per]),
        "voice_audible_100hz": np.stack([activity([x for x in u if not x.muted], times) for u in per]),
        "voice_envelope_100hz": np.stack([envelope([s for x in u for s in x.syllables], times)
                                          for u in per]).astype(np.float32),
        "offscreen_activity_100hz": activity(off, times),
        "voice_mask_mel_100hz": voice_dominance_masks(plan.voices, plan.audio, SAMPLE_RATE_HZ, ACTIVITY_RATE_HZ, n,
                                                      VOICE_MASK_MELS),
    }


def entity_numbers(people: list[Person]) -> np.ndarray:
    """(P,) entity numbers 1..P from left to right."""
    order = np.argsort([p.cx for p in people], kind="stable")
    numbers = np.empty(len(people), dtype=int)
    numbers[order] = np.arange(1, len(people) + 1)
    return numbers


def generate_video(spec: VideoSpec, out_dir: Path) -> dict:
    """Write videos/, evidence/ and annotations/per_video/ files of one video; returns its metadata row."""
    plan = plan_video(spec)
    n_people = len(plan.people)
    boxes = {name: np.zeros((spec.n_frames, n_people, 4)) for name in BOX_NAMES}
    write_mp4(out_dir / "videos" / f"{spec.video_id}.mp4", _frames(plan, boxes), plan.audio, fps=spec.fps,
              width=spec.width, height=spec.height, sample_rate_hz=SAMPLE_RATE_HZ)
    scale = np.array([spec.width, spec.height, spec.width, spec.height], dtype=np.float64)
    norm = {name: np.clip(b / scale, 0.0, 1.0) for name, b in boxes.items()}
    labels = label_ids(plan.motion)
    numbers = entity_numbers(plan.people)
    times = spec.frame_times_s()
    ids = [entity_id(spec.video_id, spec.n_frames / float(spec.fps), int(n)) for n in numbers]
    metadata = metadata_row(plan, labels)
    write_evidence(out_dir / "evidence" / f"{spec.video_id}.npz", plan, norm, labels, numbers, ids,
                   activity_tracks(plan), metadata)
    rows = annotation_rows(spec.video_id, times, numbers, ids, norm["face_box"], labels)
    write_per_video_csv(out_dir / "annotations" / "per_video" / f"{spec.video_id}-activespeaker.csv", rows)
    return metadata


def metadata_row(plan: VideoPlan, labels: np.ndarray) -> dict:
    """One metadata.csv row (WASD-like video facts)."""
    spec, speech, m = plan.spec, plan.speech, plan.motion
    speaking_any = m.speaking.any(axis=1)
    overlap = (m.speaking.sum(axis=1) >= 2)
    return {
        "video_id": spec.video_id, "category": spec.category, "fps": repr(float(spec.fps)),
        "fps_num": spec.fps_num, "fps_den": spec.fps_den, "width": spec.width, "height": spec.height,
        "n_people": len(plan.people), "seconds": repr(spec.n_frames / float(spec.fps)), "n_frames": spec.n_frames,
        "has_offscreen_voice": int(speech.has_offscreen_voice), "has_music": int(speech.has_music),
        "shake": int(plan.camera.shake), "blur": int(plan.camera.blur_sigma > 0),
        "low_res": int(plan.camera.low_res_factor > 1), "low_res_factor": plan.camera.low_res_factor,
        "face_occlusion": int(any(p.microphone for p in plan.people) or m.hand_over_mouth.max(initial=0) > 0),
        "snr_db": f"{speech.snr_db:.2f}", "muted_turns": sum(u.muted for u in speech.utterances),
        "talking_proportion": f"{speaking_any.mean():.4f}", "overlap_proportion": f"{overlap.mean():.4f}",
        "positive_rows": int((labels == 1).sum()), "rows": int(labels.size),
        "sample_rate_hz": SAMPLE_RATE_HZ, "seed": spec.seed,
    }
