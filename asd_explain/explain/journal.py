"""The comparison runs' progress journal: one JSON line per finished (batch, method), flushed and fsync'ed.

A rerun with the same settings (the same fingerprint) skips what the journal holds; a journal written
with other settings is set aside as ``progress.<time>.old.jsonl`` and the run starts over.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator


class RecordJournal:
    """Append-only JSON lines of finished (batch, method) records."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path, self.fingerprint = Path(path), fingerprint

    def load(self) -> dict[tuple[int, str], dict[str, Any]]:
        """Records of an earlier run with the same settings; another run's journal is set aside."""
        done: dict[tuple[int, str], dict[str, Any]] = {}
        for entry in self._entries():
            if entry.get("fingerprint") != self.fingerprint:
                os.replace(self.path, self.path.with_suffix(f".{int(time.time())}.old.jsonl"))
                return {}
            done[(entry["batch"], entry["method"])] = entry["record"]
        return done

    def _entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        for line in self.path.read_text().splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut by a crash: keep what came before it
                return

    def append(self, batch: int, method: str, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"fingerprint": self.fingerprint, "batch": batch, "method": method, "record": record})
        with self.path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
