"""The training CSV log (AV and image recipes): survives resumes, rows past the resumed step are dropped,
then new rows are appended."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Sequence

from ..config import atomic_write_text


class CSVLog:
    """Append-only CSV with a fixed header; each row is flushed to disk when written.

    ``truncate_after(step)`` rewrites the file (atomically) without rows whose ``step`` column (or another
    counter ``column``, e.g. "epoch") is larger, so after a resume from step S the log continues from S
    without duplicated steps. An existing log with other columns is an error naming the file (a resumed
    run must log what it logged before).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open(newline="") as handle:
                header = next(csv.reader(handle), [])
            if header != self.columns:
                raise ValueError(f"{self.path}: existing log has columns {header}, expected {self.columns}")
        else:
            atomic_write_text(self.path, ",".join(self.columns) + "\n")

    def write(self, row: dict[str, Any]) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.path}: unknown log columns {sorted(unknown)}")
        with self.path.open("a", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow([_format(row.get(c, "")) for c in self.columns])
            handle.flush()

    def truncate_after(self, step: int, column: str = "step") -> None:
        with self.path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        if column not in header:
            raise ValueError(f"{self.path}: no {column!r} column to truncate the log on")
        index = header.index(column)
        kept = [r for r in body if len(r) == len(header) and _as_int(r[index]) is not None
                and _as_int(r[index]) <= step]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header] + kept)
        atomic_write_text(self.path, buffer.getvalue())


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
