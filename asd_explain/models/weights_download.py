"""Resumable, sha256-checked download of a published weights file.

The bytes go to ``<dest>.partial`` (an interrupted download is continued with an HTTP Range request the next
time), then the whole file's sha256 is checked: a match is renamed atomically onto ``dest``, a mismatch
deletes the partial file and raises. Nothing else is written.
"""
from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .pretrained import default_cache_dir, published_weights
from .weights_file import WeightsError, sha256_of

CHUNK_BYTES = 1 << 16


def download_weights(name: str, cache_dir: str | Path | None = None, *, url: str | None = None,
                     progress: bool = True, timeout_s: float = 60.0) -> Path:
    """Download ``name``'s published file into the cache (or ``cache_dir``); ``url`` overrides the source.

    Returns the cached path; a file already there with the right sha256 is not downloaded again.
    """
    entry = published_weights(name)
    dest = Path(cache_dir or default_cache_dir()) / entry.file_name
    return download_file(url or entry.url, dest, entry.sha256, size_bytes=entry.size_bytes,
                         progress=progress, timeout_s=timeout_s)


def download_file(url: str, dest: str | Path, sha256: str, *, size_bytes: int | None = None,
                  progress: bool = True, timeout_s: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` through ``dest.partial`` (resumed if present), checking ``sha256``."""
    dest = Path(dest)
    if dest.is_file() and sha256_of(dest) == sha256.lower():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    offset = partial.stat().st_size if partial.is_file() else 0
    if size_bytes is not None and offset > size_bytes:
        partial.unlink()
        offset = 0
    if size_bytes is None or offset < size_bytes:
        _fetch(url, partial, offset, size_bytes, progress, timeout_s)
    actual = sha256_of(partial)
    if actual != sha256.lower():
        partial.unlink()
        raise WeightsError(f"{url}: sha256 mismatch: got {actual}, expected {sha256.lower()}; "
                           f"deleted {partial}")
    os.replace(partial, dest)
    return dest


def _fetch(url: str, partial: Path, offset: int, size_bytes: int | None, progress: bool, timeout_s: float) -> None:
    """Append the bytes from ``offset`` on to ``partial`` (from 0 if the server ignores the Range)."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            resumed = offset > 0 and response.status == 206
            start = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length is not None else size_bytes
            with open(partial, "ab" if resumed else "wb") as out, \
                    tqdm(total=total, initial=start, unit="B", unit_scale=True, disable=not progress,
                         desc=partial.name.removesuffix(".partial")) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left after offset: the partial file is complete
            return
        raise WeightsError(f"{url}: download failed (HTTP {err.code} {err.reason})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        reason = getattr(err, "reason", None) or type(err).__name__
        raise WeightsError(f"{url}: download interrupted ({reason}); {partial} keeps "
                           f"{partial.stat().st_size if partial.exists() else 0} bytes, run again to resume") from None
    got = partial.stat().st_size
    if size_bytes is not None and got < size_bytes:
        raise WeightsError(f"{url}: download ended early ({got} of {size_bytes} bytes); run again to resume")
