"""Which process of this host a resource fault acts on.

The process listening behind `proxy` (its upstream; through the recording relay when one runs,
the relay's real upstream for that route), or without `proxy` the service under test (the
listener of the service URL's port).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chaosrun.errors import ChaosrunError
from chaosrun.faults._host import pid_listening_on, relay_route_upstream
from chaosrun.faults._toxic import client_for
from chaosrun.names import SERVICE_URL_ENV, SERVICE_URL_KEY

__all__ = ["cmdline", "target_process"]


def target_process(kind: str, proxy: str, configuration: dict[str, Any] | None) -> tuple[int, str]:
    """The pid `kind` acts on, and how it was found (for messages and the journal)."""
    if proxy:
        upstream = client_for(configuration, proxy).proxy(proxy).upstream
        port = _port(upstream)
        pid = pid_listening_on(port)
        argv = cmdline(pid) if pid is not None else []
        if "chaosrun.record.relay" in argv:
            real = relay_route_upstream(argv, proxy)
            if real is not None:
                upstream, port = real, _port(real)
                pid = pid_listening_on(port)
        what = f"the process listening on {upstream} behind proxy {proxy}"
    else:
        url = (configuration or {}).get(SERVICE_URL_KEY) or os.environ.get(SERVICE_URL_ENV)
        if not url:
            raise ChaosrunError(f"{kind}: no service URL: set {SERVICE_URL_KEY}")
        port = urlsplit(str(url)).port or 80
        pid = pid_listening_on(port)
        what = f"the service listening on port {port}"
    if pid is None:
        raise ChaosrunError(f"{kind}: no process of this host listens as {what}")
    return pid, what


def cmdline(pid: int) -> list[str]:
    """A process's command line ([] when it is gone or not readable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _port(hostport: str) -> int:
    return int(hostport.rsplit(":", 1)[1])
