"""proxy_down: disable the proxy; its listener closes and open connections drop."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chaosrun import undolog
from chaosrun.faults._toxic import client_for, mark_reverted
from chaosrun.lab.toxiproxy import Proxy, ToxiproxyClient

__all__ = ["describe", "inject", "left", "revert", "undo"]

LIMITS: dict[str, tuple[int, int]] = {}
UNDO_OP = "enable_proxy"  # how the journal names its revert
IN_TOXIPROXY = True  # Toxiproxy's /reset undoes it


def inject(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration, proxy)
    log = undolog.log_from_env()
    entry = (
        undolog.record(log, "proxy_down", toxiproxy_url=client.url, proxy=proxy) if log else None
    )
    state = client.set_enabled(proxy, False)
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {"proxy": proxy, "enabled": state.enabled, "undo_id": entry.id if entry else None}


def revert(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration, proxy)
    state = client.set_enabled(proxy, True)
    mark_reverted("proxy_down", proxy=proxy)
    return {"proxy": proxy, "enabled": state.enabled}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Enable the proxy again; False when it was enabled already or is gone."""
    client = ToxiproxyClient(str(params["toxiproxy_url"]), timeout_s=timeout_s)
    proxy = client.find_proxy(str(params["proxy"]))
    if proxy is None or proxy.enabled:
        return False
    client.set_enabled(proxy.name, True)
    return True


def left(params: Mapping[str, Any], proxy: Proxy) -> str | None:
    return None if proxy.enabled else f"{proxy.name}: disabled"


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    enabled = func == "revert"
    verb = "enable proxy" if enabled else "disable proxy"
    what = "" if enabled else " (its listener closes, open connections drop)"
    body = "true" if enabled else "false"
    return f"{verb} {proxy}{what}", f"PATCH {base} enabled={body}"
