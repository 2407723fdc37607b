"""Atomic file writing: a file appears under its name complete, or not at all.

``with atomic_write(path, "w") as f:`` (or ``"wb"``) writes to a temp file in the same folder and, when the
block ends without an exception, moves it onto ``path`` with ``os.replace`` (atomic on POSIX); on an
exception the temp file is removed and ``path`` keeps its old content (or stays absent).
``with atomic_path(path) as tmp:`` is the same for writers that need a file name instead of a file object
(PyAV containers); ``keep_suffix=True`` ends the temp name with ``path``'s suffix for writers that pick
the format from the name.

The temp file is created with mode 0666 and the process umask applies, so finished files get the usual
permissions (0644 under umask 022), whatever wrote them. Temp names are ``.<name>.tmp.<random>`` (hidden,
unique per call, so threads and processes writing the same file never share one, and never ending in the
real suffix, so a reader globbing ``*.json`` never sees one; with ``keep_suffix``
``.<stem>.tmp.<random><suffix>``).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["PendingFile", "atomic_path", "atomic_write"]


def _create_temp(path: Path, keep_suffix: bool) -> Path:
    """A new empty file beside ``path`` (mode 0666 & ~umask), made with O_EXCL so the name is ours."""
    for _ in range(100):
        token = secrets.token_hex(4)
        name = f".{path.stem}.tmp.{token}{path.suffix}" if keep_suffix else f".{path.name}.tmp.{token}"
        tmp = path.with_name(name)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: could not create a temp file beside it")


class PendingFile:
    """A temp file beside ``path`` (``tmp``, created empty) that becomes ``path`` on ``commit()`` or is
    removed on ``discard()``: for writers that stay open across calls (``Mp4Writer``); everything else uses
    the context managers below. ``fsync``, ``exclusive`` and ``keep_suffix`` as in ``atomic_path``."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False, exclusive: bool = False,
                 keep_suffix: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync, self.exclusive = fsync, exclusive
        self.tmp = _create_temp(self.path, keep_suffix)

    def commit(self) -> Path:
        try:
            if self.fsync:
                fd = os.open(self.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if self.exclusive:
                try:
                    os.link(self.tmp, self.path)
                except FileExistsError:
                    pass
            else:
                os.replace(self.tmp, self.path)
        finally:
            self.discard()
        return self.path

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = False, exclusive: bool = False,
                keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write; on success it becomes ``path``.

    fsync: flush the finished file to disk before the rename (crash safety for stores and checkpoints).
    exclusive: create ``path`` only if it does not exist yet (``os.link``; an existing file is kept as is,
    which makes concurrent "first writer wins" creation safe).
    keep_suffix: end the temp name with ``path``'s suffix (writers that choose the format by name).
    """
    pending = PendingFile(path, fsync=fsync, exclusive=exclusive, keep_suffix=keep_suffix)
    try:
        yield pending.tmp
    except BaseException:
        pending.discard()
        raise
    pending.commit()


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, fsync: bool = False, exclusive: bool = False,
                 **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path`` for writing (``mode`` "w" / "wb", text defaults to UTF-8); on a
    clean exit it replaces ``path`` (see ``atomic_path`` for ``fsync`` and ``exclusive``)."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path, fsync=fsync, exclusive=exclusive) as tmp:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle
