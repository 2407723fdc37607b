"""The report of one preparation run: rows in, rows stored, rows skipped by reason (file, row, reason)."""
from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asd_explain.data.ava_csv import RowIssue
from asd_explain.data.store import REPORTS_DIR, atomic_write_bytes, atomic_write_json


@dataclass
class PrepReport:
    """``rows_in == rows_stored + rows_skipped`` (file-level problems are counted in ``file_issues``)."""

    dataset: str
    split: str | None
    shard: tuple[int, int]
    rows_in: int = 0
    rows_stored: int = 0
    tracks_stored: int = 0
    tracks_written: int = 0
    videos: int = 0
    videos_skipped: int = 0
    skipped: list[RowIssue] = field(default_factory=list)
    file_issues: list[RowIssue] = field(default_factory=list)
    seconds: float = 0.0
    video_seconds: float = 0.0

    @property
    def rows_skipped(self) -> int:
        return len(self.skipped)

    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(issue.kind for issue in self.skipped).items()))

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "split": self.split, "shard": f"{self.shard[0]}/{self.shard[1]}",
            "rows_in": self.rows_in, "rows_stored": self.rows_stored, "rows_skipped": self.rows_skipped,
            "skipped_by_reason": self.by_reason(), "tracks_stored": self.tracks_stored,
            "tracks_written_this_run": self.tracks_written, "videos": self.videos,
            "videos_skipped": self.videos_skipped, "seconds": round(self.seconds, 3),
            "annotated_video_seconds": round(self.video_seconds, 3),
            "file_issues": [[i.file, i.row, i.reason] for i in self.file_issues],
        }

    def text(self, max_examples: int = 10) -> str:
        """Human-readable summary: counts, reasons, and the first skipped rows as ``file:row: reason``."""
        lines = [f"{self.dataset} {self.split or ''} shard {self.shard[0]}/{self.shard[1]}: "
                 f"{self.rows_in} rows in, {self.rows_stored} stored in {self.tracks_stored} tracks, "
                 f"{self.rows_skipped} skipped ({self.videos} videos, {self.videos_skipped} unusable, "
                 f"{self.seconds:.1f} s)"]
        for kind, count in self.by_reason().items():
            lines.append(f"  {kind}: {count}")
        advice = next((i.reason.split("; ", 1)[1] for i in self.skipped if "--time-offset" in i.reason), None)
        if advice:
            lines.append(f"  NOTE: {advice}")
        for issue in (self.file_issues + self.skipped)[:max_examples]:
            lines.append(f"  {issue}")
        if len(self.skipped) + len(self.file_issues) > max_examples:
            lines.append("  ... (all in the report's -skipped.csv)")
        return "\n".join(lines)

    def write(self, store: Path) -> Path:
        """Write ``reports/<run>.json`` and ``reports/<run>-skipped.csv`` atomically; returns the JSON path."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{self.dataset}-shard{self.shard[0]}of{self.shard[1]}"
        folder = store / REPORTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["file", "row", "kind", "reason"])
        for issue in self.file_issues + self.skipped:
            writer.writerow([issue.file, issue.row, issue.kind, issue.reason])
        atomic_write_bytes(folder / f"{name}-skipped.csv", buffer.getvalue().encode("utf-8"))
        atomic_write_json(folder / f"{name}.json", self.summary())
        return folder / f"{name}.json"
