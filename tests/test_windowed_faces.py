"""Windowed visual embeddings from one pass + cut clips equal encoding every window on its own, and the
multi-duration logits built on them equal the authors' per-window scoring (random weights, small frames)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asd_explain.models.light_asd import LightASD
from asd_explain.models.lr_asd import LRASD
from asd_explain.models.windowed_faces import temporal_radius, windowed_face_embeddings
from asd_explain.pipeline.pretrained_track import multi_duration_logits
from asd_explain.pretrained_inputs.multi_duration import multi_duration_scores, window_starts

BUILDERS = {"light-asd": LightASD, "lr-asd": LRASD}


def _model(name: str, se: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    model = BUILDERS[name](se=se).eval()
    with torch.no_grad():  # BN statistics and SE gates that are not the identity
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
        for block in model.se_blocks().values():
            torch.nn.init.normal_(block.fc2.weight, std=0.5)
    return model


def _faces(frames: int, side: int = 40) -> torch.Tensor:
    return torch.randn(1, frames, side, side, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name,se", [("light-asd", False), ("light-asd", True), ("lr-asd", False)])
def test_windows_equal_encoding_each_window_alone(name, se):
    model = _model(name, se)
    faces = _faces(90)
    windows = window_starts(90, 20) + window_starts(90, 30) + window_starts(90, 12) + [(3, 10), (40, 90), (5, 48)]
    got = windowed_face_embeddings(model, faces, windows)
    with torch.no_grad():
        for a, b in windows:
            np.testing.assert_allclose(got[(a, b)].numpy(), model.forward_face(faces[:, a:b])[0].numpy(),
                                       atol=1e-5, err_msg=f"window {a}:{b}")


def test_declared_radius_is_needed(monkeypatch):
    """One frame less of context than declared gives different embeddings near the cuts: the test above can
    fail, and the declared radius is not larger than it must be for Light-ASD."""
    model = _model("light-asd")
    faces = _faces(40)
    assert temporal_radius(model) == 6 and temporal_radius(_model("lr-asd")) == 9
    monkeypatch.setattr(model.visual_encoder.block1, "temporal_radius", 1)
    assert temporal_radius(model) == 5
    got = windowed_face_embeddings(model, faces, [(0, 20), (20, 40)])  # 20 frames: recomputed at the cut
    with torch.no_grad():
        alone = model.forward_face(faces[:, 20:40])[0]
    assert (got[(20, 40)] - alone).abs().max() > 1e-5  # the tolerance of the test above


@pytest.mark.parametrize("name", ["light-asd", "lr-asd"])
def test_multi_duration_logits_equal_scoring_each_window(name):
    model = _model(name)
    faces = _faces(61)
    mfcc = torch.randn(1, 4 * 61 - 2, 13, generator=torch.Generator().manual_seed(2))  # trimmed to 60 frames
    durations = (0.5, 1, 2)
    logits = multi_duration_logits(model, faces, mfcc, durations)
    with torch.no_grad():
        authors = multi_duration_scores(lambda f, m: model(face=f, audio=m)["logits"][..., 1], faces, mfcc,
                                        durations)
    assert logits.shape == (60, 2)
    np.testing.assert_allclose(logits[:, 1].numpy(), authors, atol=1e-5)


def _track(frames: int = 120, side: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return (rng.integers(0, 256, (frames, side, side), dtype=np.uint8),
            rng.normal(size=(4 * frames, 13)).astype(np.float32))


def _plain_twin(explained: torch.nn.Module, name: str = "light-asd") -> torch.nn.Module:
    """The published model without SE whose weights are the explained model's (a distilled model's scorer)."""
    plain = BUILDERS[name]().eval()
    plain.load_state_dict({k: v for k, v in explained.state_dict().items() if not k.startswith("se.")})
    return plain


def _authors(model, faces_uint8, mfcc, durations):
    faces = model.preprocessing.normalise_faces(torch.from_numpy(faces_uint8))[None]
    with torch.no_grad():
        return multi_duration_scores(lambda f, m: model(face=f, audio=m)["logits"][..., 1], faces,
                                     torch.from_numpy(mfcc)[None], durations)


@pytest.mark.parametrize("name,chunk,durations", [("light-asd", 1500, (1, 2)), ("light-asd", 50, (1, 2)),
                                                  ("light-asd", 50, (0.6, 1.5)), ("lr-asd", 1500, (1, 2))])
def test_track_scores_reuse_the_explanation_pass_and_equal_the_authors(name, chunk, durations):
    """A distilled-like explained model (SE gates not the identity) scored by its plain twin, the scorer's
    visual embeddings taken from the explanation's pass (chunks of 50 frames: windows inside a chunk and,
    with 0.6 s windows, across chunks); a scorer with other visual weights is not given them."""
    from asd_explain.explain.map_settings import MapSettings
    from asd_explain.pipeline.pretrained_track import explain_authors_track

    model = _model(name, se=True)
    faces, mfcc = _track()
    settings = MapSettings(occlusion=True)  # the blank pass runs while the encoder's outputs are recorded
    scorer = _plain_twin(model, name)
    got = explain_authors_track(model, faces, mfcc, settings=settings, durations_s=durations, chunk_frames=chunk,
                                scorer=scorer)
    np.testing.assert_allclose(got.authors_scores, _authors(scorer, faces, mfcc, durations), atol=1e-5)
    other = _plain_twin(model, name)
    with torch.no_grad():
        next(other.visual_encoder.block3.parameters()).mul_(1.5)
    got = explain_authors_track(model, faces, mfcc, settings=settings, durations_s=durations, chunk_frames=chunk,
                                scorer=other)
    np.testing.assert_allclose(got.authors_scores, _authors(other, faces, mfcc, durations), atol=1e-5)
    own = explain_authors_track(model, faces, mfcc, settings=settings, durations_s=durations, chunk_frames=chunk)
    np.testing.assert_allclose(own.authors_scores, _authors(model, faces, mfcc, durations), atol=1e-5)
    alone = explain_authors_track(model, faces, mfcc, settings=settings, scoring="single-pass", chunk_frames=chunk)
    for kind in ("occlusion", "se_mass"):  # recording changes nothing in the explanation
        np.testing.assert_array_equal(got.explanation.importance[kind]["face"],
                                      alone.explanation.importance[kind]["face"])
    np.testing.assert_array_equal(got.explanation.face_maps, alone.explanation.face_maps)


@pytest.mark.parametrize("chunk", [1500, 50])
def test_single_pass_scores_of_the_plain_twin(chunk):
    from asd_explain.explain.map_settings import MapSettings
    from asd_explain.pipeline.pretrained_track import explain_authors_track

    model = _model("light-asd", se=True)
    scorer = _plain_twin(model)
    faces, mfcc = _track()
    got = explain_authors_track(model, faces, mfcc, settings=MapSettings(occlusion=False), scoring="single-pass",
                                chunk_frames=chunk, scorer=scorer)
    with torch.no_grad():
        want = scorer(face=scorer.preprocessing.normalise_faces(torch.from_numpy(faces))[None],
                      audio=torch.from_numpy(mfcc)[None])["logits"][0]
    np.testing.assert_allclose(got.logits, want.numpy(), atol=1e-5)
