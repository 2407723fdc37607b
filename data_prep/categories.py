"""Video categories (WASD: OC, SI, FO, HVN, SS) from a metadata CSV or WASD's dataset_division.txt."""
from __future__ import annotations

import csv
from pathlib import Path

WASD_CODES = {"0": "OC", "1": "SI", "2": "FO", "3": "HVN", "4": "SS"}
WASD_HEADINGS = {"interview": "OC", "debate": "SI", "podcast": "FO", "react": "HVN", "police": "SS"}
_VIDEO_COLUMNS = ("video_id", "Video", "video")
_CATEGORY_COLUMNS = ("category", "Category")


class Categories:
    """``categories.of(video_id)`` -> category code or None.

    Looks the video id up as given, then without its ``_<start>-<end>`` sub-video suffix (WASD video ids
    such as ``G0CArrOND6I_21-49`` belong to the YouTube video ``G0CArrOND6I``).
    """

    def __init__(self, mapping: dict[str, str] | None = None) -> None:
        self.mapping = dict(mapping or {})

    def of(self, video_id: str) -> str | None:
        found = self.mapping.get(video_id)
        if found is None and "_" in video_id:
            found = self.mapping.get(video_id.rsplit("_", 1)[0])
        return found

    @classmethod
    def load(cls, path: str | Path | None) -> Categories:
        """Read a CSV with a video column (video_id/Video) and a category column (category/Category,
        WASD's numeric codes 0-4 are mapped to OC, SI, FO, HVN, SS), or WASD's ``dataset_division.txt``."""
        if path is None:
            return cls()
        path = Path(path)
        if path.suffix.lower() == ".txt":
            return cls(_read_division(path))
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            video_col = next((c for c in _VIDEO_COLUMNS if c in columns), None)
            cat_col = next((c for c in _CATEGORY_COLUMNS if c in columns), None)
            if video_col is None or cat_col is None:
                raise ValueError(f"{path}:1: needs a video column ({'/'.join(_VIDEO_COLUMNS)}) and a category "
                                 f"column ({'/'.join(_CATEGORY_COLUMNS)})")
            mapping = {}
            for row in reader:
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                value = row[cat_col]
                mapping[row[video_col]] = WASD_CODES.get(value, value)
        return cls(mapping)


def _read_division(path: Path) -> dict[str, str]:
    mapping, current = {}, None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            current = WASD_HEADINGS.get(line.lstrip("#").strip().lower())
            if current is None:
                raise ValueError(f"{path}:{number}: unknown heading {line!r}")
        elif current is None:
            raise ValueError(f"{path}:{number}: video id before any '# <category>' heading")
        else:
            mapping[line] = current
    return mapping
