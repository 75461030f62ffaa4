"""An external target for the accuracy bench: HAProxy (Debian's) in front of two tiny backends.

Nothing here belongs to chaosrun's lab: HAProxy is the distribution's binary, the backends are
`backend.py` in this folder, each a separate process on a free port of 127.0.0.1, stopped by PID.

HAProxy runs in the foreground (`-db`) with a config written to the work directory: round robin
over the two backends, L7 retries on 503 / connection failures with redispatch to the other
backend, and active HTTP health checks (`option httpchk GET /health`, short inter/fall/rise), so
after an outage a backend stays DOWN until `rise` checks passed: a real delay of the service.

The outage schedule [start, end) is set on both backends from outside (`POST /_fail`), and each
backend logs every request it received (arrival epoch, path, ok): the ground truth.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosrun.lab.ports import free_ports, is_listening

__all__ = ["HAPROXY_CONFIG", "Arrival", "ExternalTarget", "start_external"]

HERE = Path(__file__).resolve().parent
HEALTH_PATH = "/health"

# Timeouts keep a stalled backend from holding a client longer than the load's own 1 s timeout.
HAPROXY_CONFIG = """\
global
    maxconn 4096
    log stderr format iso local0 notice

defaults
    mode http
    log global
    option dontlognull
    timeout connect 500ms
    timeout client 5s
    timeout server 2s
    timeout queue 1s
    timeout http-keep-alive 5s
    retries 2
    retry-on 503 conn-failure empty-response response-timeout
    option redispatch 1

frontend accuracy
    bind 127.0.0.1:{port}
    default_backend pool

frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
    stats refresh 0

backend pool
    balance roundrobin
    option httpchk GET {health}
    http-check expect status 200
    default-server check {check}
{servers}
"""


@dataclass(frozen=True, slots=True)
class Arrival:
    backend: str
    at: float  # arrival epoch at the backend
    path: str
    ok: bool

    @property
    def health_check(self) -> bool:
        return self.path == HEALTH_PATH


@dataclass(slots=True)
class ExternalTarget:
    workdir: Path
    url: str  # HAProxy's frontend
    stats_url: str
    backends: dict[str, str]  # name -> base URL (control requests go straight to a backend)
    ports: list[int]
    check: dict[str, int]  # inter_ms, fall, rise
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def set_outage(self, start: float, end: float) -> None:
        """Every backend fails every request arriving in [start, end) (epoch seconds)."""
        for url in self.backends.values():
            _call(f"{url}/_fail?start={start!r}&end={end!r}", "POST")

    def reset_logs(self) -> None:
        for url in self.backends.values():
            _call(f"{url}/_log/reset", "POST")

    def arrivals(self) -> list[Arrival]:
        out = []
        for name, url in self.backends.items():
            for at, path, ok in _call(f"{url}/_log", "GET"):
                out.append(Arrival(name, float(at), str(path), bool(ok)))
        out.sort(key=lambda a: a.at)
        return out

    def server_status(self) -> dict[str, str]:
        """HAProxy's own view of each backend server (its stats CSV): UP, DOWN, UP 1/2, ..."""
        with urllib.request.urlopen(f"{self.stats_url};csv", timeout=2.0) as response:
            text = response.read().decode().lstrip("# ")
        return {
            row["svname"]: row["status"]
            for row in csv.DictReader(io.StringIO(text))
            if row["pxname"] == "pool" and row["svname"] in self.backends
        }

    def wait_all_up(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, KeyError, ValueError):
                status = self.server_status()
                if len(status) == len(self.backends) and all(s == "UP" for s in status.values()):
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> list[int]:
        """SIGTERM each process by PID (SIGKILL after 5 s); returns ports still listening."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5.0)
        return [p for p in self.ports if is_listening(p)]


def _call(url: str, method: str) -> Any:
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, method=method, data=data)
    with urllib.request.urlopen(request, timeout=5.0) as response:
        return json.loads(response.read())


def find_haproxy() -> str:
    found = shutil.which("haproxy")
    if found is None:
        raise RuntimeError(
            "haproxy not found: apt-get install -y haproxy (make bench-accuracy does it)"
        )
    return found


def _wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log}")
        if is_listening(port):
            return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within 10 s; see {log}")


def start_external(
    workdir: Path, inter_ms: int = 100, fall: int = 2, rise: int = 2, latency_ms: float = 2.0
) -> ExternalTarget:
    """Start two backends and HAProxy on free ports; return once HAProxy sees both UP."""
    haproxy = find_haproxy()
    workdir.mkdir(parents=True, exist_ok=True)
    port, stats_port, *backend_ports = free_ports(4)
    names = [f"b{i + 1}" for i in range(len(backend_ports))]
    target = ExternalTarget(
        workdir=workdir,
        url=f"http://127.0.0.1:{port}",
        stats_url=f"http://127.0.0.1:{stats_port}/stats",
        backends={n: f"http://127.0.0.1:{p}" for n, p in zip(names, backend_ports, strict=True)},
        ports=[port, stats_port, *backend_ports],
        check={"inter_ms": inter_ms, "fall": fall, "rise": rise},
    )
    try:
        for name, backend_port in zip(names, backend_ports, strict=True):
            log = workdir / f"{name}.log"
            argv = [sys.executable, str(HERE / "backend.py"), "--name", name]
            argv += ["--port", str(backend_port), "--latency-ms", repr(latency_ms)]
            target.procs[name] = _spawn(argv, log)
            _wait_listening(backend_port, target.procs[name], f"backend {name}", log)
        servers = "\n".join(
            f"    server {n} 127.0.0.1:{p}" for n, p in zip(names, backend_ports, strict=True)
        )
        config = workdir / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                port=port,
                stats_port=stats_port,
                health=HEALTH_PATH,
                check=f"inter {inter_ms}ms fastinter {inter_ms}ms downinter {inter_ms}ms "
                f"fall {fall} rise {rise}",
                servers=servers,
            )
        )
        log = workdir / "haproxy.log"
        check = subprocess.run(
            [haproxy, "-c", "-q", "-f", str(config)], capture_output=True, timeout=30, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy rejected {config}: {check.stderr.decode().strip()}")
        target.procs["haproxy"] = _spawn([haproxy, "-db", "-f", str(config)], log)
        _wait_listening(port, target.procs["haproxy"], "haproxy", log)
        if not target.wait_all_up():
            raise RuntimeError(f"haproxy did not see both backends UP; see {log}")
    except BaseException:
        target.stop()
        raise
    return target


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
