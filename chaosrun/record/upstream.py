"""Put a proxy's upstream back from its undo entry (kind `recording`: the recording relay moved
it; `chaosrun.engine.recording`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = ["RECORDING", "undo"]

RECORDING = "recording"  # the undo entries' kind
UNDO_OP = "restore_upstream"  # how the journal names it


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Point the proxy at its old upstream again; False when it already is, or is gone."""
    upstream = params.get("upstream")
    client = ToxiproxyClient(str(params["toxiproxy_url"]), timeout_s=timeout_s)
    proxy = client.find_proxy(str(params["proxy"]))
    if proxy is None or upstream is None or proxy.upstream == upstream:
        return False
    client.set_upstream(proxy.name, str(upstream))
    return True
