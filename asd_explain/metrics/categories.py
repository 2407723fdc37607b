"""Video categories for per-category AP (WASD: OC, SI, FO, HVN, SS).

Accepted category files:
  - WASD ``dataset_division.txt``: ``# Interview`` / ``# Debate`` / ``# Podcast`` / ``# React`` /
    ``# Police`` headings followed by YouTube ids (headings map to OC / SI / FO / HVN / SS; any other
    heading is used as the category name);
  - WASD ``wasd_metadata.csv``: columns ``Video`` and ``Category`` (codes 0..4 = OC, SI, FO, HVN, SS);
  - any CSV with two columns ``video_id,category`` (header optional).
Ids are matched exactly first, then without WASD's ``_<start>-<end>`` sub-video suffix.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

WASD_HEADINGS = {"interview": "OC", "debate": "SI", "podcast": "FO", "react": "HVN", "police": "SS"}
WASD_CODES = {0: "OC", 1: "SI", 2: "FO", 3: "HVN", 4: "SS"}
_SUBVIDEO = re.compile(r"^(?P<base>.+)_\d+-\d+$")


def read_categories(path: str | os.PathLike) -> dict[str, str]:
    """{video id: category} from a division file, WASD metadata CSV or two-column CSV."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: categories file not found")
    text = path.read_text()
    if any(line.startswith("#") for line in text.splitlines()):
        return _read_division(text, path)
    frame = pd.read_csv(path, header=None, dtype=str, skipinitialspace=True)
    header = [str(v).strip() for v in frame.iloc[0]]
    if "Video" in header and "Category" in header:
        body = frame.iloc[1:].set_axis(header, axis=1)
        return {v: WASD_CODES.get(int(c), str(c)) for v, c in zip(body["Video"], body["Category"], strict=True)}
    if frame.shape[1] < 2:
        raise ValueError(f"{path}: expected 'video_id,category' rows, found {frame.shape[1]} column(s)")
    if header[:2] == ["video_id", "category"]:
        frame = frame.iloc[1:]
    return dict(zip(frame.iloc[:, 0].str.strip(), frame.iloc[:, 1].str.strip(), strict=True))


def _read_division(text: str, path: Path) -> dict[str, str]:
    categories: dict[str, str] = {}
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            current = WASD_HEADINGS.get(heading.lower(), heading)
        elif current is None:
            raise ValueError(f"{path}: line {number}: video id {line!r} before any '# Category' heading")
        else:
            categories[line] = current
    return categories


def category_of(video_id: str, categories: Mapping[str, str]) -> str:
    """The category of one video id ("" when unknown)."""
    if video_id in categories:
        return categories[video_id]
    match = _SUBVIDEO.match(video_id)
    return categories.get(match.group("base"), "") if match else ""


def category_per_row(video_ids: Iterable[str] | pd.Series, categories: Mapping[str, str]) -> np.ndarray:
    """Category name per row (object array; "" when unknown); resolved once per distinct video."""
    series = pd.Series(video_ids).astype("category")
    names = np.array([category_of(str(v), categories) for v in series.cat.categories] + [""], dtype=object)
    codes = series.cat.codes.to_numpy()
    return names[np.where(codes < 0, len(names) - 1, codes)]
