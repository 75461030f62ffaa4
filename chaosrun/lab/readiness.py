"""Whether a lab service is ready: HTTP 200 on a path, a TCP connect, a Redis PONG, a Redis
replica linked to its primary, or a Sentinel that knows its master's replicas."""

from __future__ import annotations

import socket
import ssl
import urllib.request
from typing import Any

import redis

from chaosrun.lab.profile import Readiness

__all__ = ["is_ready"]

TIMEOUT_S = 0.25


def is_ready(readiness: Readiness, host: str, port: int) -> bool:
    if readiness.kind in ("http", "https"):
        return _http_ok(f"{readiness.kind}://{host}:{port}{readiness.path}")
    if readiness.kind in ("redis-replica", "sentinel"):
        return _redis_ready(readiness, host, port)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            if readiness.kind == "tcp":
                return True
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redis_ready(readiness: Readiness, host: str, port: int) -> bool:
    client = redis.Redis(  # type: ignore[no-untyped-call]
        host, port, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
    try:
        if readiness.kind == "redis-replica":
            info: Any = client.info("replication")
            return bool(info.get("master_link_status") == "up")
        replicas: Any = client.sentinel_slaves(readiness.path)  # type: ignore[no-untyped-call]
        return sum(1 for r in replicas if "s_down" not in str(r.get("flags"))) >= readiness.count
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _http_ok(url: str) -> bool:
    # A lab component's own serving certificate (self-signed): readiness is not about trust.
    unverified = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S, context=unverified) as response:
            return bool(response.status == 200)
    except OSError:
        return False
