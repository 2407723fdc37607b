"""SqueezeExcite: known excitation on known weights, per-sample / per-frame squeeze, scaling."""
import pytest
import torch

from asd_explain.se import SqueezeExcite


def identity_se(channels: int, squeeze: str = "sample") -> SqueezeExcite:
    se = SqueezeExcite(channels, reduction=1, squeeze=squeeze)
    with torch.no_grad():
        se.fc1.weight.copy_(torch.eye(channels))
        se.fc2.weight.copy_(torch.eye(channels))
    return se


def test_excitation_is_sigmoid_of_relu_of_channel_means():
    se = identity_se(3)
    x = torch.zeros(2, 3, 4, 4)
    x[0, 0] = 2.0  # mean 2
    x[0, 1] = -1.0  # relu -> 0 -> sigmoid 0.5
    x[1, 2, :2] = 4.0  # mean 2
    out = se(x)
    s2 = torch.sigmoid(torch.tensor(2.0))
    expected = torch.tensor([[s2, 0.5, 0.5], [0.5, 0.5, s2]])
    torch.testing.assert_close(se.excitation, expected)
    torch.testing.assert_close(out, x * expected[:, :, None, None])


def test_reduction_sets_hidden_size_and_no_bias():
    se = SqueezeExcite(64, reduction=16)
    assert se.fc1.weight.shape == (4, 64) and se.fc2.weight.shape == (64, 4)
    assert se.fc1.bias is None and se.fc2.bias is None


def test_video_per_clip_and_per_frame_squeeze():
    x = torch.zeros(1, 2, 3, 2, 2)  # (B, C, T, H, W)
    x[0, 0, 0] = 3.0  # channel 0 active in frame 0 only
    x[0, 1, 2] = 3.0  # channel 1 active in frame 2 only
    clip = identity_se(2, "sample")
    clip(x)
    assert clip.excitation.shape == (1, 2)
    torch.testing.assert_close(clip.excitation, torch.sigmoid(torch.tensor([[1.0, 1.0]])))
    frame = identity_se(2, "frame")
    out = frame(x)
    assert frame.excitation.shape == (1, 2, 3)
    s3 = torch.sigmoid(torch.tensor(3.0)).item()
    torch.testing.assert_close(frame.excitation[0], torch.tensor([[s3, 0.5, 0.5], [0.5, 0.5, s3]]))
    torch.testing.assert_close(out[0, 0, 0], torch.full((2, 2), 3.0 * s3))


def test_scaled_output_recorded_only_when_asked():
    se = identity_se(2)
    x = torch.randn(1, 2, 3, 3)
    se(x)
    assert se.scaled is None
    se.record_output = True
    out = se(x)
    assert torch.equal(se.scaled, out.detach())


def test_excitation_keeps_gradients_for_training():
    se = SqueezeExcite(8, reduction=2)
    x = torch.randn(2, 8, 3, 3, requires_grad=True)
    se(x).sum().backward()
    assert se.fc1.weight.grad is not None and x.grad is not None


@pytest.mark.parametrize("bad", [torch.zeros(2, 3), torch.zeros(1, 5, 2, 2)])
def test_bad_shapes_raise_clear_errors(bad):
    with pytest.raises(ValueError, match="SqueezeExcite"):
        SqueezeExcite(4)(bad)
