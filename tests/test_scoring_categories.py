"""Category files for per-category AP: WASD's division file, its metadata CSV, plain two-column CSVs."""
from __future__ import annotations

from pathlib import Path

import pytest

from asd_explain.metrics.categories import category_of, category_per_row, read_categories

WASD = Path(__file__).parents[2] / "shared" / "data" / "wasd"


def test_division_file(tmp_path):
    path = tmp_path / "division.txt"
    path.write_text("# Interview\nabc\n\n# Police\nxyz_1\n# Other\nq\n")
    assert read_categories(path) == {"abc": "OC", "xyz_1": "SS", "q": "Other"}
    path.write_text("abc\n# Interview\n")
    with pytest.raises(ValueError, match="line 1: video id 'abc' before any"):
        read_categories(path)


def test_metadata_codes_and_plain_csv(tmp_path):
    meta = tmp_path / "meta.csv"
    meta.write_text("Video,Category,FPS\nA_1-31,0,30\nB_2-9,3,25\nC_0-30,4,25\n")
    assert read_categories(meta) == {"A_1-31": "OC", "B_2-9": "HVN", "C_0-30": "SS"}
    plain = tmp_path / "plain.csv"
    plain.write_text("video_id,category\nv1,OC\nv2, FO\n")
    assert read_categories(plain) == {"v1": "OC", "v2": "FO"}
    headless = tmp_path / "headless.csv"
    headless.write_text("v1,OC\n")
    assert read_categories(headless) == {"v1": "OC"}


def test_sub_video_ids_fall_back_to_their_youtube_id():
    categories = {"G0CArrOND6I": "OC", "a_b": "SI"}
    assert category_of("G0CArrOND6I_21-49", categories) == "OC"
    assert category_of("a_b_0-30", categories) == "SI"   # only the last _<start>-<end> is stripped
    assert category_of("a_b", categories) == "SI" and category_of("zzz_1-2", categories) == ""
    assert list(category_per_row(["a_b_0-30", "nope", "G0CArrOND6I_21-49"], categories)) == ["SI", "", "OC"]


@pytest.mark.skipif(not WASD.is_dir(), reason="shared WASD metadata not present")
def test_real_wasd_files():
    division = read_categories(WASD / "dataset_division.txt")
    assert len(division) == 165 and sorted(set(division.values())) == ["FO", "HVN", "OC", "SI", "SS"]
    metadata = read_categories(WASD / "wasd_metadata.csv")
    assert metadata["0BRxm7G1acw_1449-1479"] == "OC"
