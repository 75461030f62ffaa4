"""timeout: stop all data on the stream and close the connection after `timeout_ms`; 0 = blackhole
(data held until the toxic is removed, which then closes the held connections)."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"timeout_ms": (0, 3600000)}
TOXIC = ToxicSpec("timeout", {"timeout": "timeout_ms"})


def inject(
    *,
    proxy: str,
    timeout_ms: int = 0,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"timeout_ms": timeout_ms}
    return inject_toxic("timeout", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("timeout", proxy, stream, configuration)
