"""slow_close: delay closing the connection by `delay_ms` after the upstream closes it."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"delay_ms": (0, 3600000)}
TOXIC = ToxicSpec("slow_close", {"delay": "delay_ms"})


def inject(
    *,
    proxy: str,
    delay_ms: int,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"delay_ms": delay_ms}
    return inject_toxic("slow_close", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("slow_close", proxy, stream, configuration)
