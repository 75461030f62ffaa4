"""Shared fixtures: a real Toxiproxy server and a tiny upstream, both on free ports of 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.lab.procs import ProcessRef, spawn, stop
from chaosrun.lab.server import find_toxiproxy_server
from chaosrun.lab.toxiproxy import ToxiproxyClient

REPO = Path(__file__).resolve().parents[1]


class _Upstream(http.server.BaseHTTPRequestHandler):
    """GET /bytes/N -> N bytes; anything else -> 'ok'."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        size = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/bytes/") else 2
        body = b"x" * size if size != 2 else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def upstream() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def toxiproxy(tmp_path: Path) -> Iterator[ToxiproxyClient]:
    """A real toxiproxy-server on a free port, stopped by PID afterwards."""
    (port,) = free_ports(1)
    ref: ProcessRef
    ref, _ = spawn(
        "toxiproxy",
        [str(find_toxiproxy_server()), "-host", "127.0.0.1", "-port", str(port)],
        tmp_path / "toxiproxy.log",
    )
    client = ToxiproxyClient(f"http://127.0.0.1:{port}", timeout_s=2.0)
    try:
        import time

        deadline = time.monotonic() + 10
        while not client.is_up():
            assert ref.alive(), (tmp_path / "toxiproxy.log").read_text()
            assert time.monotonic() < deadline, "toxiproxy-server did not start"
            time.sleep(0.02)
        yield client
    finally:
        stop(ref)
        assert not is_listening(port)


@pytest.fixture
def chaosrun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CHAOSRUN_HOME", str(home))
    return home


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CHAOSRUN_HOME"] = str(home)
    return env
