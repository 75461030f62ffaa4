"""reset_peer: reset connections (TCP RST) after `timeout_ms`.

Fires only after the first data on the stream.
"""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"timeout_ms": (0, 3600000)}
TOXIC = ToxicSpec("reset_peer", {"timeout": "timeout_ms"})


def inject(
    *,
    proxy: str,
    timeout_ms: int = 0,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"timeout_ms": timeout_ms}
    return inject_toxic("reset_peer", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("reset_peer", proxy, stream, configuration)
