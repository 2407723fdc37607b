"""Resumable download of a public video list (AVA: one file name per line, fetched from the CVDF mirror).

Each file is fetched into ``<name>.part`` with HTTP range requests: an interrupted transfer (or run)
continues from the bytes already there; the file gets its final name only when its size equals the
server's ``Content-Length`` (temp name + ``os.replace``). A server that ignores ranges (status 200) makes the
file start again from byte 0. Files already complete are left alone.
"""
from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

AVA_BASE_URL = "https://s3.amazonaws.com/ava-dataset/trainval/"
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    pass


@dataclass
class DownloadResult:
    """``status``: downloaded, resumed, present or failed."""

    name: str
    status: str
    size: int = 0
    error: str = ""


def read_video_list(path: str | os.PathLike, base_url: str = AVA_BASE_URL) -> list[tuple[str, str]]:
    """``[(file name, url)]`` from a list file: one file name (or full http(s) URL) per line, ``#`` comments.

    Raises ValueError naming the file and line for a name that is not a plain file name.
    """
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("http://", "https://")):
            url = line
            name = urllib.parse.unquote(Path(urllib.parse.urlparse(line).path).name)
        else:
            name = line
            url = base_url.rstrip("/") + "/" + urllib.parse.quote(line)
        if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
            raise ValueError(f"{path}:{number}: {line!r} is not a plain file name")
        items.append((name, url))
    return items


def _request(url: str, method: str = "GET", start: int | None = None, timeout: float = 60.0):
    request = urllib.request.Request(url, method=method, headers={"User-Agent": "asd-prep"})
    if start is not None:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def remote_size(url: str, timeout: float = 60.0) -> int:
    """Size in bytes from a HEAD request's Content-Length."""
    with _request(url, "HEAD", timeout=timeout) as response:
        length = response.headers.get("Content-Length")
    if length is None:
        raise DownloadError(f"{url}: server gives no Content-Length")
    return int(length)


def _transfer(url: str, part: Path, size: int, timeout: float, on_bytes: Callable[[int], None]) -> None:
    """Append the missing bytes of ``url`` to ``part`` (one request)."""
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        return
    with _request(url, start=have, timeout=timeout) as response:
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {have}-"):
                raise DownloadError(f"{url}: asked for bytes {have}-, got range {content_range!r}")
            mode = "ab"
        else:  # 200: the server sent the whole file
            mode, have = "wb", 0
        with open(part, mode) as handle:
            while chunk := response.read(CHUNK_BYTES):
                handle.write(chunk)
                on_bytes(len(chunk))
    got = part.stat().st_size
    if got != size:  # the connection closed early: the next attempt asks for the rest
        raise DownloadError(f"{url}: transfer stopped at {got} of {size} bytes")


def download_file(url: str, dest: Path, *, retries: int = 3, timeout: float = 60.0,
                  on_bytes: Callable[[int], None] = lambda n: None) -> DownloadResult:
    """Download ``url`` to ``dest`` resumably (see module doc); never raises for network errors."""
    part = dest.with_name(dest.name + ".part")
    try:
        size = remote_size(url, timeout)
        if dest.exists():
            if dest.stat().st_size == size:
                return DownloadResult(dest.name, "present", size)
            os.replace(dest, part)  # a wrong-sized final file is treated as a partial one
        resumed = part.exists() and part.stat().st_size > 0
        for attempt in range(retries + 1):
            try:
                _transfer(url, part, size, timeout, on_bytes)
                break
            except (OSError, http.client.HTTPException, DownloadError) as err:
                if isinstance(err, urllib.error.HTTPError) and err.code < 500 and err.code != 416:
                    raise
                if attempt == retries:
                    raise
                time.sleep(min(2.0 ** attempt * 0.5, 10.0))
        got = part.stat().st_size
        if got != size:
            raise DownloadError(f"{url}: size check failed ({got} bytes, server says {size})")
        os.replace(part, dest)
        return DownloadResult(dest.name, "resumed" if resumed else "downloaded", size)
    except (OSError, http.client.HTTPException, DownloadError, ValueError) as err:
        return DownloadResult(dest.name, "failed", 0, f"{type(err).__name__}: {err}")


def download_list(items: list[tuple[str, str]], out_dir: str | os.PathLike, *, workers: int = 4,
                  retries: int = 3, timeout: float = 60.0, progress: bool = True) -> list[DownloadResult]:
    """Download every ``(name, url)`` into ``out_dir`` with ``workers`` threads; results in list order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(unit="B", unit_scale=True, desc="download", disable=not progress) as bar:
        def one(item: tuple[str, str]) -> DownloadResult:
            return download_file(item[1], out / item[0], retries=retries, timeout=timeout, on_bytes=bar.update)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, items))
