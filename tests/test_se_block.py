"""SqueezeExcite: known excitation on known weights, per-sample / per-frame squeeze, scaling."""
import pytest
import torch

from asd_explain.se import SECapture, SqueezeExcite


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
    torch.testing.assert_close(se.gate(x), expected)
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
    assert clip.gate(x).shape == (1, 2)
    torch.testing.assert_close(clip.gate(x), torch.sigmoid(torch.tensor([[1.0, 1.0]])))
    frame = identity_se(2, "frame")
    out = frame(x)
    assert frame.gate(x).shape == (1, 2, 3)
    s3 = torch.sigmoid(torch.tensor(3.0)).item()
    torch.testing.assert_close(frame.gate(x)[0], torch.tensor([[s3, 0.5, 0.5], [0.5, 0.5, s3]]))
    torch.testing.assert_close(out[0, 0, 0], torch.full((2, 2), 3.0 * s3))


def test_capture_records_gate_and_output_only_inside_with_and_keeps_no_state():
    se = identity_se(2)
    x = torch.randn(1, 2, 3, 3)
    with SECapture({"se": se}) as gates_only:
        se(x)
    assert set(gates_only.gates) == {"se"} and gates_only.outputs == {}
    torch.testing.assert_close(gates_only.gates["se"], se.gate(x))
    with SECapture({"se": se}, outputs=True) as capture:
        out = se(x)
    assert torch.equal(capture.outputs["se"], out.detach())
    se(x)  # outside the block: nothing recorded, no hook left, nothing stored on the module
    assert not se._forward_hooks and not se.gate_tap._forward_hooks
    assert not hasattr(se, "excitation") and not hasattr(se, "scaled")
    assert set(se.state_dict()) == {"fc1.weight", "fc2.weight"}


def test_capture_with_graph_keeps_the_gates_graph_and_releases_hooks_on_error():
    se = SqueezeExcite(4, reduction=2).train()
    x = torch.randn(2, 4, 3, 3)
    with SECapture({"se": se}, graph=True) as capture:
        se(x)
    capture.gates["se"].mean().backward()
    assert se.fc1.weight.grad is not None and se.fc1.weight.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="boom"), SECapture({"se": se}, outputs=True):
        se(x)
        raise RuntimeError("boom")
    assert not se._forward_hooks and not se.gate_tap._forward_hooks


def test_capture_records_only_its_own_threads_forwards():
    import threading

    se = identity_se(2)
    mine, other = torch.ones(1, 2, 2, 2), torch.full((1, 2, 2, 2), 3.0)
    with SECapture({"se": se}, outputs=True) as capture:
        worker = threading.Thread(target=se, args=(other,))
        worker.start()
        worker.join()
        assert capture.gates == {}
        se(mine)
    torch.testing.assert_close(capture.outputs["se"], se(mine))


def test_excitation_keeps_gradients_for_training():
    se = SqueezeExcite(8, reduction=2)
    x = torch.randn(2, 8, 3, 3, requires_grad=True)
    se(x).sum().backward()
    assert se.fc1.weight.grad is not None and x.grad is not None


@pytest.mark.parametrize("bad", [torch.zeros(2, 3), torch.zeros(1, 5, 2, 2)])
def test_bad_shapes_raise_clear_errors(bad):
    with pytest.raises(ValueError, match="SqueezeExcite"):
        SqueezeExcite(4)(bad)
