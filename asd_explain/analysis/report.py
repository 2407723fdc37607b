"""Writing analysis results: JSON, CSV and markdown tables, PNG figures (matplotlib, Agg canvas), atomically."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..config import atomic_save_figure, atomic_write_text


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars/arrays to Python, tuples to lists, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    path = Path(path)
    atomic_write_text(path, json.dumps(to_jsonable(payload), indent=1) + "\n")
    return path


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, digits: int = 4) -> str:
    """A GitHub markdown table of ``rows`` (floats with ``digits`` decimals, None as n/a)."""
    if not rows:
        return "(no rows)\n"
    columns = list(columns or dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c), digits) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: Sequence[dict[str, Any]], stem: str | os.PathLike, columns: Sequence[str] | None = None,
                digits: int = 4, title: str | None = None, md_columns: Sequence[str] | None = None
                ) -> dict[str, Path]:
    """``stem``.csv (full precision, ``columns``) and ``stem``.md (rounded, ``md_columns`` or ``columns``)."""
    stem = Path(stem)
    write_csv(pd.DataFrame(list(rows), columns=list(columns) if columns else None), stem.with_suffix(".csv"))
    shown = [c for c in md_columns if any(c in r for r in rows)] if md_columns else columns
    text = (f"# {title}\n\n" if title else "") + markdown_table(rows, shown, digits)
    atomic_write_text(stem.with_suffix(".md"), text)
    return {"csv": stem.with_suffix(".csv"), "md": stem.with_suffix(".md")}


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """A DataFrame as CSV (floats written exactly), atomically."""
    path = Path(path)
    atomic_write_text(path, frame.to_csv(index=False))
    return path


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on an Agg canvas (no pyplot, no GUI backend, safe in notebooks and on servers)."""
    figure = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """PNG through a temp file in the same folder and an atomic rename."""
    return atomic_save_figure(figure, path, dpi=dpi, bbox_inches="tight")
