"""SE heatmaps: the threshold, the channel average, upsampling, video and spectrogram shapes."""
import math

import pytest
import torch

from asd_explain.explain import se_heatmaps, select_channels


def test_threshold_keeps_about_ten_percent_of_normal_excitations():
    torch.manual_seed(1)
    s = torch.sigmoid(torch.randn(64, 2048) * 0.5)  # close to normal around 0.5
    kept, _ = select_channels(s)
    fraction = kept.float().mean().item()
    assert 0.085 < fraction < 0.115
    kept_strict, _ = select_channels(s, z=1.645)  # top 5%
    assert 0.04 < kept_strict.float().mean().item() < 0.06


def test_threshold_is_mean_plus_z_population_std():
    s = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.9]])
    kept, threshold = select_channels(s, z=1.0)
    mean, std = 0.38, math.sqrt(((s - 0.38) ** 2).mean().item())
    assert threshold.item() == pytest.approx(mean + std)
    assert kept.tolist() == [[False, False, False, False, True]]


def test_exact_top_percent_and_at_least_one_channel():
    s = torch.arange(100, dtype=torch.float32)[None]
    kept, _ = select_channels(s, top_percent=10)
    assert kept.sum().item() == 10 and kept[0, 90:].all()
    flat = torch.full((1, 8), 0.5)  # all equal: nothing above threshold, the largest is kept
    kept_flat, _ = select_channels(flat)
    assert kept_flat.sum().item() == 1


def test_map_is_the_mean_of_kept_scaled_channels_before_upsampling():
    scaled = torch.zeros(1, 4, 2, 2)
    scaled[0, 0] = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    scaled[0, 1] = torch.tensor([[0.0, 3.0], [0.0, 0.0]])
    scaled[0, 2] = 100.0  # huge but not selected
    s = torch.tensor([[0.9, 0.9, 0.1, 0.1]])
    result = se_heatmaps(scaled, s, None, z=0.5, normalize="none")
    assert result.kept.tolist() == [[True, True, False, False]]
    torch.testing.assert_close(result.maps[0], torch.tensor([[0.5, 1.5], [0.0, 0.0]]))


def test_bicubic_peak_lands_on_the_hot_cell_and_maps_are_normalised():
    scaled = torch.zeros(2, 16, 4, 4)
    scaled[0, 3, 1, 2] = 5.0
    scaled[1, 3, 3, 0] = 5.0
    s = torch.full((2, 16), 0.2)
    s[:, 3] = 0.95
    result = se_heatmaps(scaled, s, (128, 128))
    assert result.maps.shape == (2, 128, 128)
    assert result.maps.min() >= 0 and result.maps.max() <= 1
    for b, (row, col) in enumerate([(1, 2), (3, 0)]):
        peak = result.maps[b].flatten().argmax().item()
        assert peak // 128 // 32 == row and peak % 128 // 32 == col
    nearest = se_heatmaps(scaled, s, (128, 128), interpolation="nearest")
    assert nearest.maps[0, 32:64, 64:96].eq(1).all() and nearest.maps[0, :32].eq(0).all()
    bilinear = se_heatmaps(scaled, s, (128, 128), interpolation="bilinear")
    assert not torch.allclose(bilinear.maps, result.maps)


def test_video_maps_per_clip_and_per_frame():
    scaled = torch.zeros(1, 2, 2, 4, 4)  # (B, C, T, H, W)
    scaled[0, 0, :, 0, 0] = 1.0  # channel 0: top-left in both frames
    scaled[0, 1, :, 3, 3] = 1.0  # channel 1: bottom-right in both frames
    per_frame = torch.tensor([[[0.9, 0.1], [0.1, 0.9]]])  # frame 0 -> ch0, frame 1 -> ch1
    result = se_heatmaps(scaled, per_frame, (2, 16, 16), z=0.5)
    assert result.maps.shape == (1, 2, 16, 16)
    assert result.maps[0, 0].flatten().argmax().item() == 0
    assert result.maps[0, 1].flatten().argmax().item() == 16 * 16 - 1
    clip = se_heatmaps(scaled, torch.tensor([[0.9, 0.1]]), (4, 16, 16), z=0.5)
    assert clip.maps.shape == (1, 4, 16, 16)  # temporal upsampling 2 -> 4 frames
    assert clip.kept.shape == (1, 2)


def test_spectrogram_shaped_and_1d_maps():
    scaled = torch.zeros(3, 8, 5, 25)  # (B, C, F', T')
    scaled[:, 0, 2, 10] = 1.0
    s = torch.full((3, 8), 0.1)
    s[:, 0] = 0.9
    result = se_heatmaps(scaled, s, (40, 100))
    assert result.maps.shape == (3, 40, 100)
    peak = result.maps[0].flatten().argmax().item()
    assert 2 * 8 <= peak // 100 < 3 * 8 and 40 <= peak % 100 < 44
    line = se_heatmaps(torch.rand(2, 8, 10), torch.rand(2, 8), (40,))
    assert line.maps.shape == (2, 40)


def test_mismatched_excitation_is_refused():
    with pytest.raises(ValueError, match="does not match"):
        se_heatmaps(torch.zeros(1, 4, 2, 2), torch.zeros(1, 5), (8, 8))
