"""The official AVA average precision on hand-computed cases, ties included."""
import numpy as np
import pandas as pd
import pytest

from asd_explain.metrics.ava_ap import average_precision, descending_order, voc_average_precision


def test_perfect_and_hand_computed_rankings():
    assert average_precision(np.array([0.9, 0.8, 0.1]), np.array([True, True, False])) == 1.0
    # ranking: pos, neg, pos -> precision 1, 1/2, 2/3 ; recall 1/2, 1/2, 1
    # monotone precision: 1, 2/3, 2/3 -> AP = 1/2 * 1 + 1/2 * 2/3
    ap = average_precision(np.array([0.9, 0.5, 0.4]), np.array([True, False, True]))
    assert ap == pytest.approx(0.5 + 1 / 3)


def test_voc_interpolation_uses_the_maximum_precision_to_the_right():
    precision = np.array([1.0, 0.5, 0.6667, 0.5])
    recall = np.array([0.25, 0.25, 0.5, 0.5])
    assert voc_average_precision(precision, recall) == pytest.approx(0.25 * 1.0 + 0.25 * 0.6667)


def test_tie_order_matches_pandas_descending_sort():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=500).astype(float) / 4  # many ties
    expected = pd.DataFrame({"score": scores}).sort_values(by=["score"], ascending=False).index.to_numpy()
    assert np.array_equal(descending_order(scores), expected)


def test_no_positive_rows_and_bad_shapes():
    assert average_precision(np.array([0.3, 0.2]), np.array([False, False])) == 0.0
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        average_precision(np.zeros(3), np.zeros(2, bool))
