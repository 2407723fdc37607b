"""One track file (``*.trk``, format version 1): a JSON header followed by aligned binary arrays.

Layout (all integers little-endian)::

    bytes 0-7    magic b"ASDTRACK"
    bytes 8-11   uint32 format version (1)
    bytes 12-15  uint32 header length H (a multiple of 8)
    bytes 16..   header: UTF-8 JSON padded with spaces to H bytes
    16 + H ..    payload: the arrays named in header["arrays"], each starting on an 8-byte boundary

``header["arrays"][name] = [dtype, shape, offset, nbytes]`` with ``offset`` counted from the payload
start and ``dtype`` a numpy string such as ``"<f8"``. Images are stored one encoded image per frame
(PNG by default, lossless), concatenated in ``<modality>_data`` with ``<modality>_offsets (T + 1,)`` giving
frame ``t`` as bytes ``offsets[t]:offsets[t + 1]``. ``header["content_sha256"]`` is the SHA-256 of the
canonical header (sorted keys, without the hash itself) followed by the payload, so equal content gives
an equal hash whatever run wrote it.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"ASDTRACK"
TRACK_FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sII")


class TrackFileError(ValueError):
    """A track file that is not a complete, readable version-1 track."""


def _align8(n: int) -> int:
    return (n + 7) // 8 * 8


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pack_track(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[bytes, str]:
    """Serialise ``header`` (JSON-able metadata) and ``arrays`` into track-file bytes; returns (bytes, sha256)."""
    layout: dict[str, list] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(arrays):
        data = np.ascontiguousarray(arrays[name])
        if data.dtype.byteorder == ">" or (data.dtype.byteorder == "=" and not np.little_endian):
            data = data.astype(data.dtype.newbyteorder("<"))
        raw = data.tobytes()
        layout[name] = [data.dtype.str, list(data.shape), offset, len(raw)]
        padded = _align8(len(raw))
        chunks.append(raw + b"\0" * (padded - len(raw)))
        offset += padded
    payload = b"".join(chunks)
    full = dict(header, arrays=layout, format_version=TRACK_FORMAT_VERSION)
    digest = hashlib.sha256(canonical_json(full) + payload).hexdigest()
    full["content_sha256"] = digest
    text = canonical_json(full)
    text += b" " * (_align8(len(text)) - len(text))
    return _PREFIX.pack(MAGIC, TRACK_FORMAT_VERSION, len(text)) + text + payload, digest


class TrackFile:
    """Random access to one track file: the header at once, any array (or part of one) on demand."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as err:
            raise TrackFileError(f"{self.path}: cannot open track file ({err.strerror})") from None
        try:
            self.header = self._read_header()
        except Exception:
            os.close(self._fd)
            raise
        self.arrays: dict[str, list] = self.header["arrays"]

    def _read_header(self) -> dict[str, Any]:
        prefix = os.pread(self._fd, _PREFIX.size, 0)
        if len(prefix) < _PREFIX.size:
            raise TrackFileError(f"{self.path}: truncated track file")
        magic, version, length = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise TrackFileError(f"{self.path}: not a track file (bad magic)")
        if version != TRACK_FORMAT_VERSION:
            raise TrackFileError(f"{self.path}: track format version {version}, this reader knows "
                                 f"{TRACK_FORMAT_VERSION}")
        text = os.pread(self._fd, length, _PREFIX.size)
        if len(text) != length:
            raise TrackFileError(f"{self.path}: truncated header")
        self._payload_start = _PREFIX.size + length
        header = json.loads(text.decode("utf-8"))
        end = max((off + n for _, _, off, n in header["arrays"].values()), default=0)
        if os.fstat(self._fd).st_size < self._payload_start + end:
            raise TrackFileError(f"{self.path}: truncated payload")
        return header

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> TrackFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.arrays

    def array(self, name: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` (first axis) of array ``name``; reads only those bytes."""
        dtype_str, shape, offset, nbytes = self.arrays[name]
        dtype = np.dtype(dtype_str)
        row_items = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
        row_bytes = row_items * dtype.itemsize
        first, last, _ = slice(start, stop).indices(shape[0] if shape else 1)
        last = max(last, first)
        raw = os.pread(self._fd, (last - first) * row_bytes, self._payload_start + offset + first * row_bytes)
        return np.frombuffer(raw, dtype=dtype).reshape([last - first, *shape[1:]])

    def byte_range(self, name: str, begin: int, end: int) -> bytes:
        """Bytes ``begin:end`` of a uint8 array (encoded images)."""
        offset = self.arrays[name][2]
        return os.pread(self._fd, end - begin, self._payload_start + offset + begin)

    def verify(self) -> bool:
        """Recompute the content hash from the file and compare with the header."""
        header = dict(self.header)
        expected = header.pop("content_sha256", None)
        size = os.fstat(self._fd).st_size - self._payload_start
        payload = os.pread(self._fd, size, self._payload_start)
        return hashlib.sha256(canonical_json(header) + payload).hexdigest() == expected
