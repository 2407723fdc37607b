"""The `shapes` dataset: deterministic, masks match the drawn object, export/folder round trip."""
import numpy as np
import torch

from asd_explain.image.datasets import build_image_dataset, denormalise
from asd_explain.image.shapes import CLASSES, SHAPES, export_shapes, make_shapes_sample


def test_same_index_same_image_and_splits_differ():
    a = make_shapes_sample(7, split="train", seed=3)
    b = make_shapes_sample(7, split="train", seed=3)
    c = make_shapes_sample(7, split="test", seed=3)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, c.image)
    assert [make_shapes_sample(i).label for i in range(14)] == list(range(7)) * 2
    assert CLASSES[-1] == "none" and len(SHAPES) == 6


def test_none_is_the_cluttered_background_alone():
    sample = make_shapes_sample(6, image_size=128)
    assert CLASSES[sample.label] == "none" and not sample.has_object
    assert not sample.mask.any() and sample.box == (0, 0, 0, 0)
    assert sample.image.std() > 10  # gradient, texture and clutter are there
    assert make_shapes_sample(5, image_size=128).has_object


def test_mask_covers_a_two_colour_object_of_the_expected_size():
    for index in range(len(SHAPES)):
        sample = make_shapes_sample(index, image_size=128)
        inside = sample.image[sample.mask].reshape(-1, 3)
        assert 200 < sample.mask.sum() < 0.15 * 128 * 128
        # the object is drawn in exactly two colours (its class pattern); clutter never enters the mask
        colours, counts = np.unique(inside, axis=0, return_counts=True)
        assert len(colours) == 2 and counts.min() > 0.15 * counts.sum()
        x1, y1, x2, y2 = sample.box
        assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128
        assert sample.mask[y1:y2, x1:x2].sum() == sample.mask.sum()


def test_dataset_items_and_denormalise_round_trip():
    data = build_image_dataset("shapes", split="val", count=4, image_size=64)
    item = data[1]
    assert item["image"].shape == (3, 64, 64) and item["mask"].shape == (64, 64)
    assert item["mask"].dtype == torch.bool and item["label"] == 1
    restored = denormalise(item["image"][None])[0]
    expected = make_shapes_sample(1, split="val", image_size=64).image
    assert np.abs(restored.astype(int) - expected.astype(int)).max() <= 1


def test_export_then_read_as_folder_dataset(tmp_path):
    export_shapes(tmp_path, count=7, split="test", image_size=48)
    folder = build_image_dataset("folder", root=tmp_path, split="test", image_size=48)
    generated = build_image_dataset("shapes", split="test", count=7, image_size=48)
    assert len(folder) == 7 and folder.has_masks and not folder[6]["mask"].any()
    for i in range(7):
        a, b = folder[i], generated[i]
        assert a["label"] == b["label"]
        assert torch.equal(a["mask"], b["mask"])
        assert torch.allclose(a["image"], b["image"], atol=1e-5)
