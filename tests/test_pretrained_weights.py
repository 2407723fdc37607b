"""Weights registry, look-up order, resumable sha256-checked download and ``asd-explain weights``.

Nothing is fetched from the internet: downloads run against a local HTTP server on 127.0.0.1 that serves a
small generated file (honouring HTTP Range, optionally cutting the connection early); ``verify`` and
``load_pretrained`` use the published files in ../shared/weights (skipped when absent).
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from asd_explain.cli.weights import command as weights_command
from asd_explain.models import pretrained
from asd_explain.models.light_asd import LightASD
from asd_explain.models.pretrained import WEIGHTS_ENV, load_pretrained, resolve_weights
from asd_explain.models.weights_download import download_file
from asd_explain.models.weights_file import WeightsError

PAYLOAD = random.Random(17).randbytes(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
SHARED_WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"


class PayloadHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server = self.server
        server.ranges.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range") and server.honour_range:
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:  # send part of the body, then drop the connection
            self.wfile.write(body[:server.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PayloadHandler)
    httpd.ranges, httpd.cut_after, httpd.honour_range = [], None, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/weights.model"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_download_checks_sha256_and_renames(server, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "w.model"
    assert download_file(server.url, dest, PAYLOAD_SHA, size_bytes=len(PAYLOAD), progress=False, timeout_s=10) == dest
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "cache" / "w.model.partial").exists()
    download_file(server.url, dest, PAYLOAD_SHA, progress=False, timeout_s=10)  # already there: no request
    assert server.ranges == [None]


def test_interrupted_download_resumes_with_range(server, tmp_path: Path) -> None:
    dest, partial = tmp_path / "w.model", tmp_path / "w.model.partial"
    server.cut_after = 120_000
    with pytest.raises(WeightsError, match="run again to resume") as err:
        download_file(server.url, dest, PAYLOAD_SHA, size_bytes=len(PAYLOAD), progress=False, timeout_s=10)
    assert "\n" not in str(err.value) and not dest.exists()
    assert partial.read_bytes() == PAYLOAD[:120_000]
    server.cut_after = None
    download_file(server.url, dest, PAYLOAD_SHA, size_bytes=len(PAYLOAD), progress=False, timeout_s=10)
    assert server.ranges == [None, "bytes=120000-"]
    assert dest.read_bytes() == PAYLOAD and not partial.exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path: Path) -> None:
    server.honour_range = False
    (tmp_path / "w.model.partial").write_bytes(PAYLOAD[:5000])
    download_file(server.url, tmp_path / "w.model", PAYLOAD_SHA, progress=False, timeout_s=10)
    assert (tmp_path / "w.model").read_bytes() == PAYLOAD


def test_complete_partial_needs_no_bytes(server, tmp_path: Path) -> None:
    (tmp_path / "w.model.partial").write_bytes(PAYLOAD)
    download_file(server.url, tmp_path / "w.model", PAYLOAD_SHA, size_bytes=len(PAYLOAD), progress=False)
    assert server.ranges == [] and (tmp_path / "w.model").read_bytes() == PAYLOAD


def test_sha256_mismatch_deletes_the_partial(server, tmp_path: Path) -> None:
    dest = tmp_path / "w.model"
    with pytest.raises(WeightsError) as err:
        download_file(server.url, dest, "ab" * 32, size_bytes=len(PAYLOAD), progress=False, timeout_s=10)
    message = str(err.value)
    assert message.startswith(server.url) and "sha256 mismatch" in message and "deleted" in message
    assert "\n" not in message and list(tmp_path.iterdir()) == []


def test_cli_download_with_url_override(server, tmp_path: Path, monkeypatch) -> None:
    entry = dataclasses.replace(pretrained.PUBLISHED["light-asd"], sha256=PAYLOAD_SHA, size_bytes=len(PAYLOAD))
    monkeypatch.setitem(pretrained.PUBLISHED, "light-asd", entry)
    result = CliRunner().invoke(weights_command, ["download", "light-asd", "--cache-dir", str(tmp_path),
                                                  "--url", server.url, "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / entry.file_name).read_bytes() == PAYLOAD
    assert f"{tmp_path / entry.file_name} (sha256 ok)" in result.output
    bad = CliRunner().invoke(weights_command, ["download", "nope", "--cache-dir", str(tmp_path)])
    assert bad.exit_code != 0 and "unknown pretrained model 'nope'; known: light-asd, lr-asd" in bad.output


def test_registry_entries_match_the_reference_table() -> None:
    light, lr = pretrained.PUBLISHED["light-asd"], pretrained.PUBLISHED["lr-asd"]
    assert light.url == ("https://raw.githubusercontent.com/Junhua-Liao/Light-ASD/"
                         "ed38c232de5efe0261dbd68627c0ade7cdfe14eb/weight/pretrain_AVA_CVPR.model")
    assert lr.url.endswith("/Junhua-Liao/LR-ASD/1b6dcd2d8fc2895683de6508ec6294ec47d388ca/weight/pretrain_AVA.model")
    assert (light.size_bytes, lr.size_bytes) == (4_175_289, 3_426_337)
    assert (light.reported_map_percent, lr.reported_map_percent) == (94.06, 94.45)


def test_resolution_order(tmp_path: Path, monkeypatch) -> None:
    env, cache, explicit = tmp_path / "env", tmp_path / "cache", tmp_path / "mine.model"
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(WeightsError, match="run `asd-explain weights download light-asd` or pass --weights FILE"):
        resolve_weights("light-asd", cache_dir=cache)
    cache.mkdir()
    (cache / "pretrain_AVA_CVPR.model").touch()
    assert resolve_weights("light-asd", cache_dir=cache) == cache / "pretrain_AVA_CVPR.model"
    monkeypatch.setenv(WEIGHTS_ENV, str(env))
    (env / "light-asd").mkdir(parents=True)
    (env / "pretrain_AVA_CVPR.model").touch()
    assert resolve_weights("light-asd", cache_dir=cache) == env / "pretrain_AVA_CVPR.model"
    (env / "light-asd" / "pretrain_AVA_CVPR.model").touch()
    assert resolve_weights("light-asd", cache_dir=cache) == env / "light-asd" / "pretrain_AVA_CVPR.model"
    explicit.touch()
    assert resolve_weights("light-asd", explicit, cache_dir=cache) == explicit
    with pytest.raises(WeightsError, match="missing.model: no such weights file"):
        resolve_weights("light-asd", tmp_path / "missing.model")


def need_shared() -> None:
    if not (SHARED_WEIGHTS / "light-asd" / "pretrain_AVA_CVPR.model").is_file():
        pytest.skip(f"published weights not found in {SHARED_WEIGHTS}")


def test_load_pretrained_and_verify_on_the_shared_files(tmp_path: Path, monkeypatch) -> None:
    need_shared()
    torch.set_num_threads(1)
    monkeypatch.setenv(WEIGHTS_ENV, str(SHARED_WEIGHTS))
    model = load_pretrained("lr-asd", se=True, cache_dir=tmp_path)
    assert not model.training and sorted(model.se_blocks()) == ["audio", "face", "fusion"]
    result = CliRunner().invoke(weights_command, ["verify", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "light-asd: " in result.output and "lr-asd: " in result.output and "sha256 ok" in result.output
    truncated = tmp_path / "cut.model"
    truncated.write_bytes((SHARED_WEIGHTS / "lr-asd" / "pretrain_AVA.model").read_bytes()[:400_000])
    result = CliRunner().invoke(weights_command, ["verify", str(truncated)])
    assert result.exit_code != 0 and f"{truncated}: truncated or unreadable" in result.output


def test_load_pretrained_rejects_a_wrong_file(tmp_path: Path) -> None:
    need_shared()
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_pretrained("light-asd", SHARED_WEIGHTS / "lr-asd" / "pretrain_AVA.model")
    with pytest.raises(WeightsError, match=r"not a light-asd state dict \(the file fits lr-asd\)"):
        load_pretrained("light-asd", SHARED_WEIGHTS / "lr-asd" / "pretrain_AVA.model", verify_sha256=False)
    modified = tmp_path / "fine_tuned.model"
    state = LightASD().state_dict()
    torch.save({("model.visualEncoder." + k.removeprefix("visual_encoder.")): v for k, v in state.items()
                if k.startswith("visual_encoder.")}, modified)
    with pytest.raises(WeightsError, match=f"^{modified}: not a light-asd state dict: missing keys model.audioEncoder"):
        load_pretrained("light-asd", modified, verify_sha256=False)
