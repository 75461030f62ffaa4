"""Whether a lab service answers: HTTP 200 on a path, a TCP connect, or a Redis PONG."""

from __future__ import annotations

import socket
import urllib.request

from chaosrun.lab.profile import Readiness

__all__ = ["is_ready"]

TIMEOUT_S = 0.25


def is_ready(readiness: Readiness, host: str, port: int) -> bool:
    if readiness.kind == "http":
        return _http_ok(f"http://{host}:{port}{readiness.path}")
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            if readiness.kind == "tcp":
                return True
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return bool(response.status == 200)
    except OSError:
        return False
