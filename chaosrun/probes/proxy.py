"""Proxy state probe: is the proxy enabled, and which toxics does it carry."""

from __future__ import annotations

from typing import Any, TypedDict

from chaosrun.faults._toxic import client_for

__all__ = ["ProxyState", "proxy_state"]


class ProxyState(TypedDict):
    proxy: str
    enabled: bool
    toxics: list[str]
    toxic_count: int


def proxy_state(*, proxy: str, configuration: dict[str, Any] | None = None) -> ProxyState:
    """{"enabled": bool, "toxics": [names], "toxic_count": n}; tolerate with a range on
    `toxic_count` (e.g. [0, 0]: clean proxy)."""
    state = client_for(configuration, proxy).proxy(proxy)
    return ProxyState(
        proxy=state.name,
        enabled=state.enabled,
        toxics=[t.name for t in state.toxics],
        toxic_count=len(state.toxics),
    )
