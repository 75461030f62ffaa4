"""bandwidth: limit the stream to `rate_kbps` kilobytes per second."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"rate_kbps": (0, 10000000)}
TOXIC = ToxicSpec("bandwidth", {"rate": "rate_kbps"})


def inject(
    *,
    proxy: str,
    rate_kbps: int,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"rate_kbps": rate_kbps}
    return inject_toxic("bandwidth", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("bandwidth", proxy, stream, configuration)
