"""Resumable download against a local HTTP server on 127.0.0.1 with range support (and its failure modes)."""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner

from asd_explain.cli.registry import register_commands
from data_prep import commands
from data_prep.cli import cli
from data_prep.download import download_file, download_list, read_video_list

FILES = {
    "a1.mkv": np.random.default_rng(1).integers(0, 256, 300_000, np.uint8).tobytes(),
    "b2.mp4": np.random.default_rng(2).integers(0, 256, 123_457, np.uint8).tobytes(),
    "c3.webm": b"tiny",
}


class Handler(BaseHTTPRequestHandler):
    """Serves FILES with Range support; server.cut_once makes the first GET of each file stop half-way,
    server.ignore_range answers every request with the whole file (status 200)."""

    def log_message(self, *args) -> None:
        pass

    def _file(self):
        name = self.path.rsplit("/", 1)[-1]
        return name, FILES.get(name)

    def do_HEAD(self) -> None:
        name, data = self._file()
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        name, data = self._file()
        if data is None:
            self.send_error(404)
            return
        self.server.requests.append((name, self.headers.get("Range")))
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(match.group(1)) if match and not self.server.ignore_range else 0
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name not in self.server.cut and self.server.cut_once and len(body) > 1000:
            self.server.cut.add(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests, httpd.cut, httpd.cut_once, httpd.ignore_range = [], set(), False, False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server, name):
    return f"http://127.0.0.1:{server.server_address[1]}/trainval/{name}"


def test_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    server.cut_once = True
    result = download_file(url(server, "a1.mkv"), tmp_path / "a1.mkv", retries=2)
    assert result.status == "downloaded" and result.size == 300_000
    assert (tmp_path / "a1.mkv").read_bytes() == FILES["a1.mkv"]
    assert server.requests == [("a1.mkv", "bytes=0-"), ("a1.mkv", "bytes=150000-")]
    assert not (tmp_path / "a1.mkv.part").exists()


def test_partial_file_from_an_earlier_run_is_completed(server, tmp_path):
    (tmp_path / "b2.mp4.part").write_bytes(FILES["b2.mp4"][:1000])
    result = download_file(url(server, "b2.mp4"), tmp_path / "b2.mp4")
    assert result.status == "resumed"
    assert server.requests == [("b2.mp4", "bytes=1000-")]
    assert (tmp_path / "b2.mp4").read_bytes() == FILES["b2.mp4"]


def test_complete_files_are_left_alone_and_wrong_sizes_fixed(server, tmp_path):
    (tmp_path / "b2.mp4").write_bytes(FILES["b2.mp4"])
    assert download_file(url(server, "b2.mp4"), tmp_path / "b2.mp4").status == "present"
    assert server.requests == []
    (tmp_path / "a1.mkv").write_bytes(FILES["a1.mkv"][:5000])  # an older, cut-short copy
    assert download_file(url(server, "a1.mkv"), tmp_path / "a1.mkv").status == "resumed"
    assert (tmp_path / "a1.mkv").read_bytes() == FILES["a1.mkv"]


def test_server_ignoring_ranges_restarts_the_file(server, tmp_path):
    server.ignore_range = True
    (tmp_path / "a1.mkv.part").write_bytes(b"x" * 777)
    assert download_file(url(server, "a1.mkv"), tmp_path / "a1.mkv").status == "resumed"
    assert (tmp_path / "a1.mkv").read_bytes() == FILES["a1.mkv"]


def test_failures_are_reported_not_raised(server, tmp_path):
    result = download_file(url(server, "missing.mp4"), tmp_path / "missing.mp4", retries=0)
    assert result.status == "failed" and "404" in result.error
    server.cut_once = True
    result = download_file(url(server, "a1.mkv"), tmp_path / "a1.mkv", retries=0)
    assert result.status == "failed"
    assert (tmp_path / "a1.mkv.part").stat().st_size == 150_000 and not (tmp_path / "a1.mkv").exists()


def test_list_file_and_command(server, tmp_path):
    listing = tmp_path / "list.txt"
    base = url(server, "")
    listing.write_text("# AVA trainval\na1.mkv\n\nb2.mp4\n" + url(server, "c3.webm") + "\n")
    assert [n for n, _ in read_video_list(listing, base)] == ["a1.mkv", "b2.mp4", "c3.webm"]
    results = download_list(read_video_list(listing, base), tmp_path / "videos", workers=3, progress=False)
    assert [r.status for r in results] == ["downloaded"] * 3
    register_commands(cli, commands)
    out = CliRunner().invoke(cli, ["download", "ava", "--list", str(listing), "--out", str(tmp_path / "videos"),
                                   "--base-url", base, "--quiet"])
    assert out.exit_code == 0 and "3 present" in out.output
    bad = tmp_path / "bad.txt"
    bad.write_text("ok.mp4\n../etc/passwd\n")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        read_video_list(bad)
