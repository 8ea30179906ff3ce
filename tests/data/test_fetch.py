"""Downloads: pinned checksums, atomic cache, interrupted downloads, offline use, TOFU."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mobilenet_repro.data import DataError
from mobilenet_repro.data.fetch import OFFLINE_ENV, RemoteFile, TrustOnFirstUseWarning, fetch

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    behaviour = {}  # path -> "ok" | "truncate" | "stall" | "404"

    def do_GET(self):  # noqa: N802
        mode = self.behaviour.get(self.path, "404")
        if mode == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if mode == "ok":
            self.wfile.write(PAYLOAD)
            return
        self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
        self.wfile.flush()
        if mode == "stall":
            time.sleep(60)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.behaviour = {}
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _online(monkeypatch):
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


def _leftovers(res: Path) -> list[str]:
    partial = res / "downloads" / ".partial"
    return sorted(p.name for p in partial.iterdir()) if partial.exists() else []


def test_download_is_verified_cached_and_reused_offline(server, tmp_path, monkeypatch):
    _, base = server
    _Handler.behaviour = {"/f.bin": "ok"}
    remote = RemoteFile("f.bin", f"{base}/f.bin", sha256=SHA)
    got = fetch(remote, tmp_path, dataset="demo")
    target = tmp_path / "downloads" / "f.bin"
    assert got.origin == "download" and got.sha256 == SHA and Path(got.path) == target
    assert target.read_bytes() == PAYLOAD and _leftovers(tmp_path) == []
    # Later uses need no network and verify the cached copy every time.
    monkeypatch.setenv(OFFLINE_ENV, "1")
    _Handler.behaviour = {}
    again = fetch(remote, tmp_path, dataset="demo")
    assert again.origin == "cache" and again.sha256 == SHA
    assert "pinned sha256" in again.verification
    target.write_bytes(PAYLOAD[:-1] + b"\x00")  # damaged after the download
    with pytest.raises(DataError, match=r"fails its checksum.*delete it \(rm "):
        fetch(remote, tmp_path, dataset="demo")


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    _, base = server
    _Handler.behaviour = {"/f.bin": "ok"}
    remote = RemoteFile("f.bin", f"{base}/f.bin", sha256="0" * 64)
    with pytest.raises(DataError) as err:
        fetch(remote, tmp_path, dataset="demo")
    msg = str(err.value)
    assert "0" * 64 in msg and SHA in msg and "Nothing was kept" in msg
    assert "datasets.demo.sha256" in msg
    assert not (tmp_path / "downloads" / "f.bin").exists() and _leftovers(tmp_path) == []


def test_md5_pin_is_accepted(server, tmp_path):
    _, base = server
    _Handler.behaviour = {"/f.bin": "ok"}
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    got = fetch(RemoteFile("f.bin", f"{base}/f.bin", md5=md5), tmp_path, dataset="demo")
    assert got.sha256 == SHA and "md5" in got.verification


def test_truncated_download_leaves_nothing_and_rerun_recovers(server, tmp_path):
    _, base = server
    _Handler.behaviour = {"/f.bin": "truncate"}
    remote = RemoteFile("f.bin", f"{base}/f.bin", sha256=SHA)
    with pytest.raises(DataError, match="failed|checksum"):
        fetch(remote, tmp_path, dataset="demo")
    assert not (tmp_path / "downloads" / "f.bin").exists() and _leftovers(tmp_path) == []
    _Handler.behaviour = {"/f.bin": "ok"}
    assert fetch(remote, tmp_path, dataset="demo").origin == "download"


def test_killed_download_leaves_nothing_complete_and_rerun_recovers(server, tmp_path):
    _, base = server
    _Handler.behaviour = {"/f.bin": "stall"}
    code = textwrap.dedent(
        f"""
        from mobilenet_repro.data.fetch import RemoteFile, fetch
        fetch(RemoteFile("f.bin", "{base}/f.bin", sha256="{SHA}"), {str(tmp_path)!r},
              dataset="demo")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    partial = tmp_path / "downloads" / ".partial"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            sizes = [p.stat().st_size for p in partial.glob("*/f.bin")] if partial.exists() else []
            if sizes and max(sizes) > 0:
                break
            assert proc.poll() is None, "the download ended before it could be killed"
            time.sleep(0.1)
        else:
            pytest.fail("the download never started")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / "downloads" / "f.bin").exists()  # nothing that looks complete
    assert _leftovers(tmp_path)  # the dead run's staging directory
    _Handler.behaviour = {"/f.bin": "ok"}
    got = fetch(RemoteFile("f.bin", f"{base}/f.bin", sha256=SHA), tmp_path, dataset="demo")
    assert got.origin == "download" and Path(got.path).read_bytes() == PAYLOAD
    assert _leftovers(tmp_path) == []  # cleaned under the lock


def test_offline_fails_at_once_saying_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    remote = RemoteFile("f.bin", "https://example.org/data/f.bin", sha256=SHA, size=262144)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as err:
        fetch(remote, tmp_path, dataset="demo")
    assert time.perf_counter() - t0 < 2
    msg = str(err.value)
    assert str(tmp_path / "downloads" / "f.bin") in msg and SHA in msg
    assert "https://example.org/data/f.bin" in msg and "datasets.demo.path" in msg
    assert "262,144 bytes" in msg
    assert not (tmp_path / "downloads" / "f.bin").exists()


def test_unreachable_host_fails_at_once(tmp_path):
    # Port 9 (discard) on localhost: connection refused, no waiting for a timeout.
    remote = RemoteFile("f.bin", "http://127.0.0.1:9/f.bin", sha256=SHA)
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"unreachable.*put it at"):
        fetch(remote, tmp_path, dataset="demo")
    assert time.perf_counter() - t0 < 5


def test_local_copy_is_used_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    local = tmp_path / "mirror"
    local.mkdir()
    (local / "f.bin").write_bytes(PAYLOAD)
    remote = RemoteFile("f.bin", "https://example.org/f.bin", sha256=SHA)
    for path in (local, local / "f.bin"):  # the directory holding it, or the file itself
        got = fetch(remote, tmp_path / "res", dataset="demo", local_path=path)
        assert got.origin == "local" and got.sha256 == SHA
    assert not (tmp_path / "res").exists()  # used in place, not copied
    (local / "f.bin").write_bytes(b"something else")
    with pytest.raises(DataError, match=r"fails its checksum.*datasets\.demo\.sha256"):
        fetch(remote, tmp_path / "res", dataset="demo", local_path=local)
    other = hashlib.sha256(b"something else").hexdigest()
    assert fetch(remote, tmp_path / "res", dataset="demo", local_path=local, sha256=other)
    with pytest.raises(DataError, match=r"does not exist\. Put f\.bin \(sha256 " + SHA):
        fetch(remote, tmp_path / "res", dataset="demo", local_path=tmp_path / "nowhere")


def test_file_url_and_trust_on_first_use(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    remote = RemoteFile("u.bin", src.as_uri())  # no published checksum
    with pytest.warns(TrustOnFirstUseWarning, match="TRUST ON FIRST USE"):
        got = fetch(remote, tmp_path / "res", dataset="mine")
    record = tmp_path / "res" / "downloads" / "u.bin.sha256"
    assert record.read_text().split()[0] == SHA and "trusted on first use" in got.verification
    monkeypatch.setenv(OFFLINE_ENV, "1")
    assert fetch(remote, tmp_path / "res", dataset="mine").sha256 == SHA
    (tmp_path / "res" / "downloads" / "u.bin").write_bytes(b"tampered")
    with pytest.raises(DataError, match="fails its checksum"):
        fetch(remote, tmp_path / "res", dataset="mine")


def test_http_error_is_reported(server, tmp_path):
    _, base = server
    with pytest.raises(DataError, match=r"download of .*missing\.bin .*failed.*Nothing was kept"):
        fetch(RemoteFile("missing.bin", f"{base}/missing.bin", sha256=SHA), tmp_path, dataset="d")
    assert not (tmp_path / "downloads" / "missing.bin").exists() and _leftovers(tmp_path) == []
