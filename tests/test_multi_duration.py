"""Multi-duration score averaging with dummy models whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asd_explain.pretrained_inputs.multi_duration import (
    AUTHORS_DURATIONS_S,
    LISTED_DURATIONS_S,
    common_length,
    multi_duration_scores,
    window_starts,
)


def _inputs(n_video: int, n_audio: int) -> tuple[torch.Tensor, torch.Tensor]:
    faces = torch.arange(n_video, dtype=torch.float32).view(1, n_video, 1, 1).expand(1, n_video, 4, 4)
    mfcc = torch.arange(n_audio, dtype=torch.float32).view(1, n_audio, 1).expand(1, n_audio, 13)
    return faces, mfcc


def position_in_window(faces: torch.Tensor, mfcc: torch.Tensor) -> torch.Tensor:
    assert mfcc.shape[1] == 4 * faces.shape[1]
    return torch.arange(faces.shape[1], dtype=torch.float32)[None]


def audio_frame_of_each_video_frame(faces: torch.Tensor, mfcc: torch.Tensor) -> torch.Tensor:
    return mfcc[:, ::4, 0] - 4 * faces[:, :, 0, 0]  # 0 when the window's audio is the window's own


def test_authors_durations_are_the_set_their_code_builds() -> None:
    assert LISTED_DURATIONS_S == (1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6)
    assert AUTHORS_DURATIONS_S == tuple(sorted(set(LISTED_DURATIONS_S)))  # what `{1, 1, 1, 2, ...}` builds


def test_position_average_known_answer() -> None:
    faces, mfcc = _inputs(60, 240)
    out = multi_duration_scores(position_in_window, faces, mfcc, (1, 2, 3))
    frame = np.arange(60)
    expected = ((frame % 25) + (frame % 50) + frame) / 3  # windows of 25, 50 and 75 (cut to 60) frames
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_repeated_durations_weigh_more() -> None:
    faces, mfcc = _inputs(60, 240)
    out = multi_duration_scores(position_in_window, faces, mfcc, (1, 1, 2))
    frame = np.arange(60)
    np.testing.assert_allclose(out, (2 * (frame % 25) + frame % 50) / 3, atol=1e-6)
    listed = multi_duration_scores(position_in_window, faces, mfcc, LISTED_DURATIONS_S)
    weights = {1: 3, 2: 3, 3: 2, 4: 1, 5: 1, 6: 1}
    expected = sum(w * (frame % (25 * d)) for d, w in weights.items()) / 11
    np.testing.assert_allclose(listed, expected, atol=1e-5)


def test_each_window_gets_its_own_audio_and_trim_follows_the_authors() -> None:
    faces, mfcc = _inputs(70, 263)  # audio: 263 - 263 % 4 = 260 frames = 2.6 s; video 2.8 s -> 65 frames
    assert common_length(70, 263) == 65
    out = multi_duration_scores(audio_frame_of_each_video_frame, faces, mfcc, AUTHORS_DURATIONS_S)
    assert out.shape == (65,)
    np.testing.assert_array_equal(out, np.zeros(65, np.float32))


def test_round_decimals_and_bad_model_output() -> None:
    faces, mfcc = _inputs(30, 120)
    out = multi_duration_scores(lambda f, a: torch.full((1, f.shape[1]), 0.26), faces, mfcc, round_decimals=1)
    np.testing.assert_allclose(out, 0.3, atol=1e-6)
    with pytest.raises(ValueError, match="expected \\(1, 25\\)"):
        multi_duration_scores(lambda f, a: torch.zeros(1, 3), faces, mfcc, (1,))
    assert window_starts(60, 25) == [(0, 25), (25, 50), (50, 60)]


@pytest.mark.parametrize("name,file", [("light-asd", "pretrain_AVA_CVPR.model"), ("lr-asd", "pretrain_AVA.model")])
def test_staged_model_fn_gives_the_authors_logits(name: str, file: str) -> None:
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared" / "weights" / name
    if not (shared / file).is_file() or not (shared / "reference_io.pt").is_file():
        pytest.skip(f"{shared} absent (published weights live in ../shared/weights)")
    from asd_explain.models.pretrained import load_pretrained
    from asd_explain.pretrained_inputs.multi_duration import staged_model_fn

    reference = torch.load(shared / "reference_io.pt", weights_only=True)
    model_fn = staged_model_fn(load_pretrained(name, shared / file))
    with torch.no_grad():
        logits = model_fn(reference["faces_uint8"], reference["mfcc"])
    torch.testing.assert_close(logits[0], reference["logits"][:, 1], atol=1e-4, rtol=0)
