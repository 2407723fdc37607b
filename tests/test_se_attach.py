"""attach_se on torchvision classifiers: the right layer, weights untouched, removable, clear errors."""
import pytest
import torch
import torchvision
from torch import nn

from asd_explain import SEExplainer, attach_se
from asd_explain.se import SE_NAME, SECapture

EXPECTED_LAYER = {
    "resnet18": ("layer4", 512),
    "resnet50": ("layer4", 2048),
    "mobilenet_v3_small": ("features", 576),
    "efficientnet_b0": ("features", 1280),
    "densenet121": ("features", 1024),
    "vgg11_bn": ("features", 512),
    "convnext_tiny": ("features", 768),
}


@pytest.mark.parametrize("arch", sorted(EXPECTED_LAYER))
def test_attach_keeps_weights_and_output_shape(arch):
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=7).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        plain = model(x)
    attachment = attach_se(model, example_input=torch.zeros(1, 3, 64, 64))
    name, channels = EXPECTED_LAYER[arch]
    assert attachment.layer_name == name and attachment.se.channels == channels
    after = model.state_dict()
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    new_keys = set(after) - set(before)
    assert new_keys == {f"{SE_NAME}.fc1.weight", f"{SE_NAME}.fc2.weight"}
    with torch.no_grad(), SECapture({"se": attachment.se}) as capture:
        with_se = model(x)
    assert with_se.shape == plain.shape
    assert capture.gates["se"].shape == (2, channels)
    explanation = SEExplainer(model).explain(x)
    assert explanation.maps.shape == (2, 64, 64)
    torch.testing.assert_close(explanation.logits, with_se)
    attachment.remove()
    assert not hasattr(model, SE_NAME)
    with torch.no_grad():
        torch.testing.assert_close(model(x), plain)


def test_se_output_feeds_the_pooling_and_classifier():
    model = torchvision.models.resnet18(weights=None, num_classes=3).eval()
    attachment = attach_se(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad(), SECapture({"se": attachment.se}, outputs=True) as capture:
        logits = model(x)
    with torch.no_grad():
        pooled = capture.outputs["se"].mean(dim=(2, 3))
        torch.testing.assert_close(logits, model.fc(pooled))


def test_explicit_layer_and_unknown_layer_error():
    model = torchvision.models.resnet18(weights=None, num_classes=3)
    attachment = attach_se(model, layer="layer3")
    assert attachment.se.channels == 256
    attachment.remove()
    with pytest.raises(ValueError, match="no module named 'layer9'.*layer4"):
        attach_se(model, layer="layer9")


def test_model_without_conv_feature_map_gets_clear_error():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 224 * 224, 10))

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp

        def forward(self, x):
            return self.net(x)

    with pytest.raises(ValueError, match=r"no conv feature map.*\(B, C, H, W\)"):
        attach_se(Wrapper())
    with pytest.raises(TypeError, match="Sequential"):
        attach_se(mlp)


def test_attaching_twice_is_refused():
    model = torchvision.models.resnet18(weights=None, num_classes=3)
    attach_se(model)
    with pytest.raises(ValueError, match="already has an SE block"):
        attach_se(model)


def test_probe_restores_training_mode_and_bn_statistics():
    model = torchvision.models.resnet18(weights=None, num_classes=3).train()
    stats = model.bn1.running_mean.clone()
    attach_se(model)
    assert model.training and model.layer4.training
    assert torch.equal(model.bn1.running_mean, stats)


def test_explainer_leaves_no_recording_behind_and_propagates_errors():
    model = torchvision.models.resnet18(weights=None, num_classes=3).eval()
    attach_se(model)
    hooks_before = sum(len(m._forward_hooks) for m in model.modules())
    with pytest.raises(RuntimeError, match="boom"):
        with SEExplainer(model) as explainer:
            explainer.explain(torch.randn(1, 3, 64, 64))
            raise RuntimeError("boom")
    assert not explainer.se._forward_hooks and not explainer.se.gate_tap._forward_hooks
    assert sum(len(m._forward_hooks) for m in model.modules()) == hooks_before
