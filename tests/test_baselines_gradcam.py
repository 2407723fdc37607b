"""grad-cam baselines behind the Explainer interface: known values, registry errors, hook life-cycle."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from asd_explain.explain.base import ClassTarget
from asd_explain.explain.baselines import (
    EXPLAINER_NAMES,
    GradCamExplainer,
    PredictedClass,
    make_explainer,
    parse_methods,
)
from asd_explain.explain.se_explainer import SEExplainer
from asd_explain.se.attach import attach_se


class TinyNet(nn.Module):
    """conv (3 -> 4, same size) + ReLU -> global average pool -> linear (4 -> 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def hand_gradcam(model: TinyNet, x: torch.Tensor, classes: list[int]) -> np.ndarray:
    """GradCAM of TinyNet by hand: d score_k / d A_c(i, j) = W[k, c] / (H W), so the channel weight
    is W[k, c] / (H W); cam = ReLU(sum_c weight_c A_c), min-max scaled (grad-cam scales twice, per
    layer and after aggregating, so its result is (cam - min) / (max - min) to float precision)."""
    with torch.no_grad():
        acts = model.features(x)
        area = acts.shape[-1] * acts.shape[-2]
        out = []
        for i, k in enumerate(classes):
            weights = model.fc.weight[k] / area
            cam = (weights[:, None, None] * acts[i]).sum(0).clamp_min(0)
            cam = cam - cam.min()
            out.append((cam / cam.max()).numpy())
    return np.stack(out)


def test_gradcam_equals_the_hand_computation() -> None:
    model = TinyNet().eval()
    x = torch.randn(2, 3, 8, 8)
    with make_explainer("gradcam", model, "features") as explainer:
        result = explainer.explain(x, targets=[ClassTarget(2), ClassTarget(0)])
        predicted = explainer.explain(x)
    np.testing.assert_allclose(result.maps.numpy(), hand_gradcam(model, x, [2, 0]), atol=1e-5)
    classes = model(x).argmax(1).tolist()
    np.testing.assert_allclose(predicted.maps.numpy(), hand_gradcam(model, x, classes), atol=1e-5)
    torch.testing.assert_close(result.logits, model(x).detach())


def se_tiny() -> TinyNet:
    model = TinyNet()
    attach_se(model, reduction=2, example_input=torch.zeros(1, 3, 8, 8))
    return model.eval()


@pytest.mark.parametrize("name", EXPLAINER_NAMES)
def test_every_method_gives_unit_maps_of_the_input_size(name: str) -> None:
    model = se_tiny()
    x = torch.randn(3, 3, 8, 8)
    with make_explainer(name, model) as explainer:
        result = explainer.explain(x)
    assert result.maps.shape == (3, 8, 8)
    assert result.maps.min() >= 0 and result.maps.max() <= 1 + 1e-6
    assert result.maps.flatten(1).max(1).values.min() > 0.99  # each map is min-max scaled
    if name != "se":
        assert isinstance(explainer, GradCamExplainer)
        assert explainer.layer_name == ("all Conv2d/BatchNorm2d biases" if name == "fullgrad" else "se_explain")


def test_default_layer_is_the_se_output_and_hooks_live_only_during_explain() -> None:
    model = se_tiny()
    layer_hooks = len(model.features._forward_hooks)  # attach_se's own hook stays
    seen: list[int] = []
    model.se_explain.register_forward_hook(lambda *_: seen.append(len(model.se_explain._forward_hooks)))
    explainer = make_explainer("gradcam", model)
    assert explainer.layer is model.se_explain
    assert len(model.se_explain._forward_hooks) == 1  # ours only: grad-cam adds its hooks per call
    model.train()
    explainer(torch.randn(1, 3, 8, 8))
    assert seen == [3]  # during the call: ours + grad-cam's activation and gradient hooks
    assert len(model.se_explain._forward_hooks) == 1
    assert len(model.features._forward_hooks) == layer_hooks
    assert all(p.grad is None for p in model.parameters())
    assert model.training and model.features[0].training  # train/eval flags restored
    explainer.close()


def test_two_explainers_on_one_model_do_not_record_each_other() -> None:
    model = se_tiny()
    x = torch.randn(2, 3, 8, 8)
    with make_explainer("gradcam", model) as alone:
        expected = alone(x)
    with make_explainer("fullgrad", model) as fullgrad, make_explainer("gradcam", model) as gradcam:
        fullgrad(x)
        torch.testing.assert_close(gradcam(x), expected)
        model(x)  # a plain forward between calls leaves nothing behind
        assert len(model.se_explain._forward_hooks) == 0 and len(model.features[0]._forward_hooks) == 0


def test_exceptions_are_not_swallowed() -> None:
    model = se_tiny()
    with pytest.raises(IndexError):  # grad-cam's own __exit__ would swallow this one
        with make_explainer("gradcam", model):
            raise IndexError("boom")
    assert len(model.se_explain._forward_hooks) == 0


def test_no_se_block_probes_for_the_last_feature_map() -> None:
    model = TinyNet().eval()
    with make_explainer("gradcam", model) as explainer:
        explainer(torch.randn(2, 3, 8, 8))
        assert explainer.layer_name == "features"  # the outermost module of the last feature map


def test_unknown_method_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown explainer 'gradcamm' \(valid: se, gradcam, gradcam\+\+, "
                                         r"eigengradcam, fullgrad, eigencam, layercam, scorecam\)"):
        make_explainer("gradcamm", TinyNet())
    with pytest.raises(ValueError, match="unknown method 'grad' .*valid: se, gradcam"):
        parse_methods("se,grad")
    assert parse_methods("SE, gradcam++,se") == ["se", "gradcam++"]


def test_unknown_layer_lists_existing_layers() -> None:
    with pytest.raises(ValueError, match=r"no target layer 'featurez' in TinyNet; its layers: features, "
                                         r"pool, fc .*did you mean features"):
        make_explainer("gradcam", TinyNet(), "featurez")
    with pytest.raises(ValueError, match="reads a SqueezeExcite block; 'fc' is a Linear"):
        make_explainer("se", se_tiny(), "fc")
    assert isinstance(make_explainer("se", se_tiny(), "se_explain"), SEExplainer)


def test_targets_must_match_the_batch() -> None:
    with make_explainer("gradcam", TinyNet(), "features") as explainer:
        with pytest.raises(ValueError, match="1 targets for a batch of 2"):
            explainer.explain(torch.randn(2, 3, 8, 8), targets=[ClassTarget(0)])


def test_predicted_class_target_per_frame() -> None:
    output = torch.tensor([[0.1, 0.9], [0.8, 0.3], [0.2, 0.4]])  # (T, K)
    assert PredictedClass()(output).item() == pytest.approx(0.9 + 0.8 + 0.4)
    assert PredictedClass()(torch.tensor([0.3, 0.7, 0.1])).item() == pytest.approx(0.7)


class TinyVideoNet(nn.Module):
    """(B, C, T, H, W) -> 3-D conv -> pool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3, 4)))


def test_video_activations_give_per_frame_maps() -> None:
    model = TinyVideoNet().eval()
    x = torch.randn(2, 1, 4, 8, 8)
    with make_explainer("gradcam", model, "features") as explainer:
        maps = explainer(x)
    assert maps.shape == (2, 4, 8, 8)
    # with the map size equal to the activation size, the map is the hand formula on the 3-D cam
    with torch.no_grad():
        acts = model.features(x)
    k = model(x).argmax(1)
    cam = torch.einsum("bcthw,bc->bthw", acts, model.fc.weight[k]).clamp_min(0)
    cam = cam - cam.flatten(1).min(1).values[:, None, None, None]
    cam = cam / cam.flatten(1).max(1).values[:, None, None, None]
    torch.testing.assert_close(maps, cam, atol=1e-5, rtol=1e-4)


def test_fullgrad_rejects_video_inputs() -> None:
    with make_explainer("fullgrad", TinyVideoNet()) as explainer:
        with pytest.raises(ValueError, match=r"fullgrad \(grad-cam\) supports \(B, C, H, W\) inputs only"):
            explainer(torch.randn(1, 1, 4, 8, 8))
