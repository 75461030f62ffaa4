"""latency: delay data on the stream by `latency_ms` (± `jitter_ms`)."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"latency_ms": (0, 3_600_000), "jitter_ms": (0, 3_600_000)}
TOXIC = ToxicSpec("latency", {"latency": "latency_ms", "jitter": "jitter_ms"})


def inject(
    *,
    proxy: str,
    latency_ms: int,
    jitter_ms: int = 0,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"latency_ms": latency_ms, "jitter_ms": jitter_ms}
    return inject_toxic("latency", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("latency", proxy, stream, configuration)
