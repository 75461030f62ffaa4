"""hold_connections: use up a dependency's connections: N connections through its proxy, each an
HTTP request that never finishes.

A worker-per-connection server (or a database with max_connections) keeps one worker on each, so
the service's own connections to it wait for a free one: its pool is used up. Inject writes the
undo entry (the holder's tag) first, then starts one holder process (``python -m
chaosrun.faults._holder``, carrying the run's CHAOSRUN_OWNER and the tag) that connects to the
proxy's listen address on the Toxiproxy host; applied once every connection is open. The holder
exits by itself after `max_hold_ms` at the latest. Revert stops it by its tag (its connections
close with it); the replay of the undo log after a killed run does the same.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults._host import processes_tagged
from chaosrun.faults._toxic import client_for
from chaosrun.faults._workers import stop_tagged
from chaosrun.names import TOXIPROXY_URL_KEY

__all__ = ["describe", "inject", "revert", "undo"]

LIMITS = {"connections": (1, 1024), "max_hold_ms": (1000, 3_600_000)}
UNDO_OP = "stop_holders"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # the holder process outlives a stopped lab
MODULE = "chaosrun.faults._holder"
START_WAIT_S = 10.0


def inject(
    *,
    proxy: str,
    connections: int,
    max_hold_ms: int = 600_000,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    listen = client_for(configuration, proxy).proxy(proxy).listen
    host = urlsplit(str((configuration or {}).get(TOXIPROXY_URL_KEY, ""))).hostname or "127.0.0.1"
    to = f"{host}:{listen.rsplit(':', 1)[1]}"
    tag = f"hold_connections-{proxy}-{uuid.uuid4().hex[:12]}"
    log = undolog.log_from_env()
    entry = undolog.record(log, "hold_connections", tag=tag, proxy=proxy) if log else None
    argv = [sys.executable, "-m", MODULE, "--to", to, "--connections", str(connections)]
    argv += ["--path", f"/{proxy}", "--max-s", f"{max_hold_ms / 1000:g}", "--tag", tag]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + START_WAIT_S
    line = proc.stdout.readline().decode(errors="replace").strip()  # HOLDING N, or EOF
    proc.stdout.close()
    if not line.startswith("HOLDING ") or time.monotonic() > deadline:
        _stop(tag)
        raise ChaosrunError(
            f"hold_connections: could not open {connections} connections to {to} "
            f"(holder exit {proc.poll()})"
        )
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "proxy": proxy,
        "to": to,
        "connections": connections,
        "pid": proc.pid,
        "tag": tag,
        "undo_id": entry.id if entry else None,
    }


def revert(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    log = undolog.log_from_env()
    if log is None:  # outside chaosrun (`chaos run`): every holder started for this proxy
        return {"proxy": proxy, "stopped": len(_stop(f"hold_connections-{proxy}-"))}
    stopped = 0
    for entry in undolog.pending_entries(log):
        if entry.fault == "hold_connections" and entry.params.get("proxy") == proxy:
            stopped += len(_stop(str(entry.params["tag"])))
            undolog.mark_done(log, entry.id)
    return {"proxy": proxy, "stopped": stopped}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Stop the holder carrying the entry's tag; False when it was gone already."""
    return bool(_stop(str(params["tag"]), timeout_s))


def remains(params: Mapping[str, Any]) -> str | None:
    pids = processes_tagged(MODULE, str(params["tag"]))
    return f"connection holder(s) {', '.join(map(str, pids))}" if pids else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    if func == "revert":
        return (
            f"close the connections held to {proxy}",
            "SIGTERM, then SIGKILL, the holder by its tag",
        )
    n = args.get("connections")
    return (
        f"hold {n} connections to {proxy} through its proxy, each a request that never ends",
        f"python -m {MODULE} --connections {n} (to the proxy's listen port)",
    )


def _stop(tag: str, grace_s: float = 2.0) -> list[int]:
    return stop_tagged(MODULE, tag, grace_s)
