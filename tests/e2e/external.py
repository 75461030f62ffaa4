"""A target the lab does not contain: Debian's HAProxy in front of a tiny backend, via Toxiproxy.

    client -> HAProxy (timeout server, errorfile 504/503: fallback) -> Toxiproxy "api" -> backend

HAProxy's `timeout server` is the timeout under test; on expiry it answers its 504 errorfile,
written here as a 200 with `X-Chaosrun-Degraded` (a fallback answer, as a service would give).
The backend is `bench/external/backend.py`; every process runs on a free port of 127.0.0.1 and is
stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.lab.toxiproxy import ToxiproxyClient

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "bench" / "external" / "backend.py"

CONFIG = """\
global
    maxconn 1024

defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server {server_timeout}
    timeout queue {queue_timeout}
    retries {retries}
{retry_on}    timeout check 300ms
    errorfile 504 {fallback}
    errorfile 503 {fallback}

frontend web
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string ok if {{ path /api/local }}
    default_backend api

backend api
{health}    server a 127.0.0.1:{upstream}{checks}{maxconn}
"""

# HAProxy's breaker: after 3 errors in a row (a timeout is one) the server is marked down and
# every request gets the 503 fallback at once; an active health check each second (through the
# same proxy: the half-open trial) brings it back when it answers within `timeout check`.
HEALTH = "    option httpchk GET /health\n"
CHECKS = (
    " check inter 1s fastinter 1s downinter 1s rise 1 fall 1"
    " observe layer7 error-limit 3 on-error mark-down"
)

FALLBACK = (
    "HTTP/1.0 200 OK\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "Content-Type: application/json\r\n"
    "X-Chaosrun-Degraded: haproxy-fallback\r\n"
    "\r\n"
    '{"fallback": true}\n'
)


@dataclass(slots=True)
class External:
    service_url: str
    toxiproxy_url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def stop(self) -> list[int]:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5.0)
        return [p for p in self.ports if is_listening(p)]


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _wait(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if is_listening(port):
            return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}")


@contextlib.contextmanager
def external_target(
    workdir: Path,
    server_timeout_ms: int,
    retries: int = 0,
    breaker: bool = False,
    maxconn: int | None = None,
    queue_timeout_ms: int = 5000,
) -> Iterator[External]:
    """HAProxy with `timeout server` = server_timeout_ms, its backend behind Toxiproxy "api";
    `retries` > 0: each request is retried that many times when its answer times out;
    `breaker`: errors mark the server down, health checks bring it back (`CHECKS`);
    `maxconn`: HAProxy's bulkhead, at most that many requests at once on the server, the rest
    wait in its queue up to `queue_timeout_ms`, then get the 503 fallback. ``GET /api/local`` is
    answered by HAProxy itself (an endpoint that never uses api)."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise RuntimeError("haproxy not found: `make setup` installs it (apt-get install haproxy)")
    server = os.environ.get("TOXIPROXY_SERVER") or str(REPO / ".tools/bin/toxiproxy-server")
    workdir.mkdir(parents=True, exist_ok=True)
    port, api_port, listen, backend_port = free_ports(4)
    target = External(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}")
    target.ports = [port, api_port, listen, backend_port]
    try:
        argv = [sys.executable, str(BACKEND), "--name", "api", "--port", str(backend_port)]
        target.procs.append(_spawn(argv, workdir / "backend.log"))
        _wait(backend_port, target.procs[-1], "backend")
        argv = [server, "-host", "127.0.0.1", "-port", str(api_port)]
        target.procs.append(_spawn(argv, workdir / "toxiproxy.log"))
        _wait(api_port, target.procs[-1], "toxiproxy")
        ToxiproxyClient(target.toxiproxy_url).create_proxy(
            "api", f"127.0.0.1:{listen}", f"127.0.0.1:{backend_port}"
        )
        fallback = workdir / "fallback.http"
        fallback.write_text(FALLBACK)
        config = workdir / "haproxy.cfg"
        config.write_text(
            CONFIG.format(
                server_timeout=f"{server_timeout_ms}ms",
                retries=retries,
                retry_on="    retry-on response-timeout\n" if retries else "",
                queue_timeout=f"{queue_timeout_ms}ms",
                maxconn="" if maxconn is None else f" maxconn {maxconn}",
                health=HEALTH if breaker else "",
                checks=CHECKS if breaker else "",
                fallback=fallback,
                port=port,
                upstream=listen,
            )
        )
        target.procs.append(_spawn([haproxy, "-db", "-f", str(config)], workdir / "haproxy.log"))
        _wait(port, target.procs[-1], "haproxy")
        yield target
    finally:
        target.stop()
