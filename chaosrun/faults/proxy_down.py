"""proxy_down: disable the proxy; its listener closes and open connections drop."""

from __future__ import annotations

import time
from typing import Any

from chaosrun.engine import undo
from chaosrun.faults._toxic import client_for, undo_log

__all__ = ["inject", "revert"]

LIMITS: dict[str, tuple[int, int]] = {}


def inject(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration)
    log = undo_log()
    entry = undo.record(log, "enable_proxy", client.url, proxy, fault="proxy_down") if log else None
    state = client.set_enabled(proxy, False)
    if log and entry:
        undo.mark_applied(log, entry.id, time.time())
    return {"proxy": proxy, "enabled": state.enabled, "undo_id": entry.id if entry else None}


def revert(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration)
    state = client.set_enabled(proxy, True)
    log = undo_log()
    if log:
        for entry in undo.pending_entries(log):
            if entry.op == "enable_proxy" and entry.proxy == proxy:
                undo.mark_done(log, entry.id)
    return {"proxy": proxy, "enabled": state.enabled}
