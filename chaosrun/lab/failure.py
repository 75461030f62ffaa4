"""Ground-truth failure windows of lab dependencies (`POST /_fail` inside the dependency process).

The dependency decides per request, in its own process, whether it falls inside the window: no
proxy, no network fault, an exactly known start and end. The dependency is found through the
Toxiproxy proxy in front of it (its `upstream`), so only the proxy name is needed.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from chaosrun.errors import LabError
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = ["end_failure", "start_failure"]


# Marks the call as chaosrun's own: a recording relay in front of the dependency leaves it out.
_CONTROL = {"X-Chaosrun-Control": "failure-window"}


def _post(url: str, timeout_s: float) -> dict[str, Any]:
    request = urllib.request.Request(url, method="POST", data=b"", headers=_CONTROL)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise LabError(f"lab dependency at {url} did not accept the failure window: {exc}") from exc
    return data if isinstance(data, dict) else {}


def start_failure(
    client: ToxiproxyClient, proxy: str, duration_ms: int, timeout_s: float = 2.0
) -> dict[str, Any]:
    """Fail every request reaching the dependency for `duration_ms`; returns `start`/`end`."""
    upstream = client.proxy(proxy).upstream
    return _post(f"http://{upstream}/_fail?duration_ms={int(duration_ms)}&mode=error", timeout_s)


def end_failure(client: ToxiproxyClient, proxy: str, timeout_s: float = 2.0) -> bool:
    """End a failure window early (harmless when none is running)."""
    upstream = client.proxy(proxy).upstream
    _post(f"http://{upstream}/_fail?duration_ms=0", timeout_s)
    return True
