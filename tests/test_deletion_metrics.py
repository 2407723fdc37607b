"""Deletion / Insertion: values worked out by hand on tiny models, shapes, batching, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from asd_explain.metrics.deletion import CausalSettings, curve_auc, deletion_insertion, gaussian_blur


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


class SumModel(nn.Module):
    """logits = [sum of all input values, 0]: p(class 0) = sigmoid(sum)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.flatten(1).sum(1)
        return torch.stack([total, torch.zeros_like(total)], dim=1)


IMAGE = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)
SALIENCY = torch.tensor([[[0.1, 0.2], [0.9, 0.5]]])  # order: 3 (1,0), 4 (1,1), 2 (0,1), 1 (0,0)


def hand_auc(values: list[float]) -> float:
    n = len(values) - 1
    return (sum(values) - values[0] / 2 - values[-1] / 2) / n


def test_deletion_by_hand_step_1() -> None:
    curves = deletion_insertion(SumModel(), IMAGE, SALIENCY, CausalSettings(step=1))
    sums = [10, 7, 3, 1, 0]  # remove 3, then 4, then 2, then 1
    expected = [sigmoid(s) for s in sums]
    assert curves.deletion.shape == (1, 5)
    np.testing.assert_allclose(curves.deletion[0].numpy(), expected, rtol=1e-6)
    assert curves.deletion_auc.item() == pytest.approx(hand_auc(expected), rel=1e-6)
    assert curves.classes.tolist() == [0]


def test_deletion_last_step_is_capped() -> None:
    curves = deletion_insertion(SumModel(), IMAGE, SALIENCY, CausalSettings(step=3))
    expected = [sigmoid(10), sigmoid(1), sigmoid(0)]  # n_steps = ceil(4 / 3) = 2
    np.testing.assert_allclose(curves.deletion[0].numpy(), expected, rtol=1e-6)
    assert curves.deletion_auc.item() == pytest.approx((sum(expected) - expected[0] / 2 - expected[2] / 2) / 2)


def test_insertion_by_hand_from_blurred_start() -> None:
    # 11-tap Gaussian, sigma 5, normalised over offsets -5..5; zero padding: on a 2 x 2 image only
    # offsets 0 and 1 meet pixels. blurred(i, j) = sum_pq g(|i-p|) g(|j-q|) x(p, q).
    z = sum(math.exp(-(d * d) / 50.0) for d in range(-5, 6))
    g = [1.0 / z, math.exp(-1.0 / 50.0) / z]
    x = [[1.0, 2.0], [3.0, 4.0]]
    blurred = [[sum(g[abs(i - p)] * g[abs(j - q)] * x[p][q] for p in range(2) for q in range(2))
                for j in range(2)] for i in range(2)]
    order = [(1, 0), (1, 1), (0, 1), (0, 0)]
    current = [row[:] for row in blurred]
    expected = [sigmoid(sum(map(sum, current)))]
    for i, j in order:
        current[i][j] = x[i][j]
        expected.append(sigmoid(sum(map(sum, current))))
    curves = deletion_insertion(SumModel(), IMAGE, SALIENCY, CausalSettings(step=1))
    np.testing.assert_allclose(curves.insertion[0].numpy(), expected, rtol=1e-5)
    assert curves.insertion_auc.item() == pytest.approx(hand_auc(expected), rel=1e-5)


def test_every_channel_changes_and_default_step_is_the_width() -> None:
    image = torch.arange(1.0, 1.0 + 3 * 2 * 4).reshape(1, 3, 2, 4) / 10  # (B, C, H, W)
    saliency = torch.arange(8.0).flip(0).reshape(1, 2, 4)  # row-major order, first pixel first
    curves = deletion_insertion(SumModel(), image, saliency, CausalSettings(insertion_baseline="zero"))
    assert curves.step == 4 and curves.deletion.shape == (1, 3)  # one row (4 pixels) per step
    row_sums = image.sum(dim=(1, 3))[0].tolist()  # all channels of each row
    expected_del = [sigmoid(sum(row_sums)), sigmoid(row_sums[1]), sigmoid(0)]
    expected_ins = [sigmoid(0), sigmoid(row_sums[0]), sigmoid(sum(row_sums))]
    np.testing.assert_allclose(curves.deletion[0].numpy(), expected_del, rtol=1e-6)
    np.testing.assert_allclose(curves.insertion[0].numpy(), expected_ins, rtol=1e-6)


def test_steps_sets_the_step() -> None:
    curves = deletion_insertion(SumModel(), IMAGE, SALIENCY, CausalSettings(steps=2))
    assert curves.step == 2 and curves.deletion.shape == (1, 3)
    np.testing.assert_allclose(curves.deletion[0].numpy(), [sigmoid(10), sigmoid(3), sigmoid(0)], rtol=1e-6)


def test_curve_auc_trapezoid() -> None:
    assert curve_auc(torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5)
    assert curve_auc(torch.tensor([0.3, 0.3, 0.3])).item() == pytest.approx(0.3)
    assert curve_auc(torch.tensor([1.0, 1.0, 0.0, 0.0])).item() == pytest.approx(0.5)


def test_gaussian_blur_matches_scipy() -> None:
    planes = torch.rand(2, 3, 20, 17, dtype=torch.float64)
    ours = gaussian_blur(planes, 11, 5.0).numpy()
    # scipy truncates at radius = int(truncate * sigma + 0.5) = 5 and normalises, like ours
    ref = np.stack([[gaussian_filter(p, 5.0, mode="constant", cval=0.0, truncate=1.0) for p in img]
                    for img in planes.numpy()])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


class PerFrameModel(nn.Module):
    """(N, T, C, H, W) -> per-frame logits (N, T, 2) = [weight_t * frame sum, 0]."""

    def __init__(self, weights: list[float]) -> None:
        super().__init__()
        self.weights = torch.tensor(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.flatten(2).sum(2) * self.weights
        return torch.stack([total, torch.zeros_like(total)], dim=-1)


def test_video_is_ranked_per_frame_all_frames_at_once() -> None:
    video = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 1.0], [2.0, 5.0]]]])[None]  # (1, 2, 1, 2, 2)
    maps = torch.tensor([[[0.1, 0.2], [0.9, 0.5]], [[0.9, 0.8], [0.1, 0.0]]])[None]  # (1, 2, 2, 2)
    model = PerFrameModel([1.0, -0.5])
    curves = deletion_insertion(model, video, maps, CausalSettings(step=1))
    # frame 0 logit sums: 10, 7, 3, 1, 0 (order 3, 4, 2, 1); frame 1 sums 9 -> 8 -> 7 -> 5 -> 0, times -0.5
    # clean classes: frame 0 -> class 0 (10 > 0); frame 1 -> class 1 (-4.5 < 0)
    f0 = [sigmoid(v) for v in (10, 7, 3, 1, 0)]
    f1 = [1 - sigmoid(-0.5 * v) for v in (9, 8, 7, 5, 0)]
    expected = [(a + b) / 2 for a, b in zip(f0, f1, strict=True)]
    assert curves.classes.tolist() == [[0, 1]]
    np.testing.assert_allclose(curves.deletion[0].numpy(), expected, rtol=1e-6)


def test_spectrogram_bins() -> None:
    spec = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])  # (B, F, T)
    saliency = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.5, 0.0]]])  # 6 first, then 5; ties in flat order
    curves = deletion_insertion(SumModel(), spec, saliency, CausalSettings(step=2))
    # step 2 of 6 bins: remove {3, 5}, then {1, 2}, then {4, 6}
    expected = [sigmoid(21), sigmoid(13), sigmoid(10), sigmoid(0)]
    np.testing.assert_allclose(curves.deletion[0].numpy(), expected, rtol=1e-6)


def test_chunking_does_not_change_results() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3)).eval()
    images, maps = torch.randn(3, 3, 8, 8), torch.rand(3, 8, 8)
    one = deletion_insertion(model, images, maps, CausalSettings(step=5, batch_size=1))
    many = deletion_insertion(model, images, maps, CausalSettings(step=5, batch_size=1000))
    alone = deletion_insertion(model, images[1:2], maps[1:2], CausalSettings(step=5, batch_size=7))
    torch.testing.assert_close(one.deletion, many.deletion)
    torch.testing.assert_close(one.insertion, many.insertion)
    torch.testing.assert_close(alone.insertion[0], many.insertion[1])


def test_bad_shapes_and_settings() -> None:
    with pytest.raises(ValueError, match=r"map size \(1, 3, 3\) does not fit input size \(1, 1, 2, 2\)"):
        deletion_insertion(SumModel(), IMAGE, torch.rand(1, 3, 3))
    with pytest.raises(ValueError, match="not both"):
        CausalSettings(step=2, steps=3)
    with pytest.raises(ValueError, match="deletion_baseline"):
        CausalSettings(deletion_baseline="mean")
    with pytest.raises(ValueError, match="ambiguous"):
        deletion_insertion(SumModel(), torch.rand(1, 3, 3, 4, 4), torch.rand(1, 3, 4, 4))
