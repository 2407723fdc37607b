"""Pointing game and energy in mask on maps and masks worked out by hand."""
from __future__ import annotations

import pytest
import torch

from asd_explain.metrics.pointing import coarse_map_mass_ratio, dilate, energy_in_mask, pointing_game


def square_mask(size: int, top: int, left: int, side: int) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[top:top + side, left:left + side] = True
    return mask


def test_pointing_hit_and_miss() -> None:
    masks = torch.stack([square_mask(8, 2, 2, 2)] * 2)  # rows/cols 2..3
    maps = torch.zeros(2, 8, 8)
    maps[0, 3, 2] = 1.0  # inside
    maps[1, 5, 5] = 1.0  # outside
    assert pointing_game(maps, masks).tolist() == [True, False]


def test_pointing_tolerance_is_euclidean() -> None:
    mask = square_mask(9, 4, 4, 1)[None]  # one pixel at (4, 4)
    straight, diagonal = torch.zeros(1, 9, 9), torch.zeros(1, 9, 9)
    straight[0, 4, 6] = 1.0  # distance 2
    diagonal[0, 6, 6] = 1.0  # distance 2.83
    assert pointing_game(straight, mask, tolerance_px=2).item() is True
    assert pointing_game(diagonal, mask, tolerance_px=2).item() is False
    assert pointing_game(diagonal, mask, tolerance_px=3).item() is True
    assert pointing_game(straight, mask, tolerance_px=0).item() is False


def test_pointing_ties_take_the_first_maximum() -> None:
    mask = square_mask(4, 3, 3, 1)[None]
    flat = torch.ones(1, 4, 4)  # every pixel is a maximum: (0, 0) points, a miss
    assert pointing_game(flat, mask).item() is False


def test_energy_in_mask_by_hand() -> None:
    mask = square_mask(4, 0, 0, 2)[None]  # 4 pixels top-left
    maps = torch.zeros(1, 4, 4)
    maps[0, 0, 0], maps[0, 1, 1], maps[0, 3, 3] = 0.5, 0.25, 0.25
    maps[0, 2, 2] = -1.0  # negative values do not count
    assert energy_in_mask(maps, mask).item() == pytest.approx(0.75)
    assert energy_in_mask(torch.zeros(1, 4, 4), mask).item() == 0.0


def test_video_maps_score_per_frame() -> None:
    masks = torch.stack([square_mask(6, 0, 0, 3), square_mask(6, 3, 3, 3)])[None]  # (1, T=2, 6, 6)
    maps = torch.zeros(1, 2, 6, 6)
    maps[0, 0, 1, 1] = 1.0  # frame 0: inside
    maps[0, 1, 1, 1] = 1.0  # frame 1: outside
    assert pointing_game(maps, masks).tolist() == [[True, False]]
    assert energy_in_mask(maps, masks).tolist() == [[1.0, 0.0]]


def test_mask_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(ValueError, match=r"mask size \(2, 64, 64\) does not match map size \(2, 128, 128\)"):
        pointing_game(torch.rand(2, 128, 128), torch.zeros(2, 64, 64, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask size \(1, 4, 5\) does not match map size \(1, 4, 4\)"):
        energy_in_mask(torch.rand(1, 4, 4), torch.zeros(1, 4, 5, dtype=torch.bool))


def test_dilate_disk() -> None:
    grown = dilate(square_mask(7, 3, 3, 1), 1.5)
    assert grown.sum().item() == 9  # 3 x 3: the diagonals are 1.41 away
    assert dilate(square_mask(7, 3, 3, 1), 1.0).sum().item() == 5  # a plus sign


def test_coarse_map_pointing_is_bounded_by_the_cell_grid() -> None:
    from asd_explain.metrics.pointing import coarse_map_pointing

    masks = torch.zeros(2, 3, 112, 112, dtype=torch.bool)
    masks[0, :, 64:70, 40:72] = True  # a thin lip-like strip at the top of 7x7 cell row 4 (rows 64-80)
    masks[1, :, 66:76, 40:72] = True  # a strip around that row's centre (y = 72)
    at7 = coarse_map_pointing(masks, 7)
    assert at7.shape == (2, 3)
    assert not at7[0].any() and at7[1].all()  # the 7x7 map peaks at y = 72: below the first strip
    assert coarse_map_pointing(masks, (14, 14)).all()  # 8-px cells: both strips hold a cell centre
    with pytest.raises(ValueError, match="interpolation"):
        coarse_map_pointing(masks, 7, interpolation="area")


def test_coarse_map_mass_ratio_by_hand():
    region = torch.zeros(40, 32, dtype=torch.bool)
    region[:20, :16] = True  # a quarter of the bins
    assert coarse_map_mass_ratio(region, (40, 32)) == pytest.approx(4.0)  # full size: all mass inside
    assert coarse_map_mass_ratio(region, (2, 2), "nearest") == pytest.approx(4.0)  # cells aligned with it
    assert coarse_map_mass_ratio(region, (1, 1)) == pytest.approx(1.0)  # one cell: flat, mass = area
    coarse = coarse_map_mass_ratio(region, (5, 8), "bilinear")
    assert 1.0 < coarse < 4.0  # blurred edges leak mass out
    with pytest.raises(ValueError, match="non-empty"):
        coarse_map_mass_ratio(torch.zeros(4, 4, dtype=torch.bool), (2, 2))
    # the map of a region scored on a part of it: an eighth of the bins holding half of the region's area
    part = torch.zeros_like(region)
    part[:20, :8] = True
    assert coarse_map_mass_ratio(region, (2, 2), "nearest", scored=part) == pytest.approx(4.0)  # mass 1/2, share 1/8
    assert coarse_map_mass_ratio(region, (40, 32), scored=~region) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="scored must be"):
        coarse_map_mass_ratio(region, (2, 2), scored=part[:, :16])
