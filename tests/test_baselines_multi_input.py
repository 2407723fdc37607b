"""A face + body + audio model seen through InputView: grad-cam per frame, deletion per frame."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from asd_explain.explain.baselines import make_explainer
from asd_explain.explain.multi_input import FrameTarget, InputView, frame_targets
from asd_explain.metrics.deletion import CausalSettings, deletion_insertion
from asd_explain.se.block import SqueezeExcite

B, T, H, W, F = 2, 3, 8, 8, 5


class FrameEncoder(nn.Module):
    """(B, T, 1, H, W) -> frames folded into the batch -> conv -> SE -> pool -> (B, T, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.se = SqueezeExcite(4, reduction=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        maps = self.se(self.conv(x.flatten(0, 1)))  # (B*T, 4, H, W)
        return maps.mean(dim=(2, 3)).view(b, t, -1)


class TinyAV(nn.Module):
    """batch {face, body (B, T, 1, H, W), audio (B, F, T)} -> per-frame logits (B, T, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder, self.body_encoder = FrameEncoder(), FrameEncoder()
        self.audio_encoder = nn.Linear(F, 4)
        self.head = nn.Linear(12, 2)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        audio = self.audio_encoder(batch["audio"].transpose(1, 2))  # (B, T, 4)
        fused = torch.cat([audio, self.face_encoder(batch["face"]), self.body_encoder(batch["body"])], -1)
        return self.head(fused)


def make_batch() -> dict[str, torch.Tensor]:
    return {"face": torch.randn(B, T, 1, H, W), "body": torch.randn(B, T, 1, H, W), "audio": torch.randn(B, F, T)}


def test_view_runs_the_model_with_the_other_inputs_fixed() -> None:
    model, batch = TinyAV().eval(), make_batch()
    view = InputView(model, batch, "face")
    torch.testing.assert_close(view(batch["face"]), model(batch))
    other = torch.randn_like(batch["face"])
    torch.testing.assert_close(view(other), model({**batch, "face": other}))
    assert view.map_size() == (T, H, W)
    assert InputView(model, batch, "audio").map_size() == (F, T)
    with pytest.raises(ValueError, match="use for_samples"):
        view(batch["face"][:1])
    with pytest.raises(KeyError, match="input 'video' not in the batch"):
        InputView(model, batch, "video")


def test_gradcam_through_the_view_explains_only_the_chosen_frame() -> None:
    model, batch = TinyAV().eval(), make_batch()
    view = InputView(model, batch, "face")
    with make_explainer("gradcam", view, "face_encoder.se", out_size=view.map_size()) as explainer:
        assert explainer.layer is model.face_encoder.se
        every = explainer(batch["face"], targets=frame_targets(1, B))
        only_1 = explainer(batch["face"], targets=frame_targets(1, B, frames=1))
    assert every.shape == (B, T, H, W)
    # the gradient of frame 1's logit reaches only frame 1's feature map: other frames have no map
    assert only_1[:, [0, 2]].abs().max() == 0
    assert (only_1[:, 1].flatten(1).max(1).values > 0.99).all()
    assert torch.allclose(only_1[:, 1], every[:, 1], atol=1e-5)  # one weight per frame row either way


def test_frame_target_values() -> None:
    output = torch.tensor([[0.1, 0.9], [0.8, 0.3], [0.2, 0.4]])
    assert FrameTarget(1)(output).item() == pytest.approx(1.6)
    assert FrameTarget([0, 0, 1], frames=[0, 2])(output).item() == pytest.approx(0.1 + 0.4)
    assert FrameTarget(0, frames=slice(1, 3))(output).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 classes for 3 frames"):
        FrameTarget([0, 1])(output)


def test_deletion_through_the_view_keeps_each_sample_with_its_own_inputs() -> None:
    model, batch = TinyAV().eval(), make_batch()
    view = InputView(model, batch, "face")
    maps = torch.rand(B, T, H, W)
    settings = CausalSettings(step=16, batch_size=5)  # chunks mix samples and steps
    curves = deletion_insertion(view, batch["face"], maps, settings)
    assert curves.deletion.shape == (B, 5) and curves.classes.shape == (B, T)
    for b in range(B):  # sample b alone, with only its own audio and body
        single = {k: v[b:b + 1] for k, v in batch.items()}
        alone = deletion_insertion(InputView(model, single, "face"), single["face"], maps[b:b + 1], settings)
        torch.testing.assert_close(alone.deletion[0], curves.deletion[b])
        torch.testing.assert_close(alone.insertion[0], curves.insertion[b])
    # all frames fully deleted: the face input is zero, so the last point is the zero-face score
    zero_face = model({**batch, "face": torch.zeros_like(batch["face"])}).softmax(-1)
    expected = zero_face.gather(-1, curves.classes.unsqueeze(-1)).squeeze(-1).mean(1)
    torch.testing.assert_close(curves.deletion[:, -1], expected.detach())
