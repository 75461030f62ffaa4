"""bandwidth: limit the stream to `rate_kbps` kilobytes per second."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"rate_kbps": (0, 10000000)}


def inject(
    *,
    proxy: str,
    rate_kbps: int,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    attributes = {"rate": rate_kbps}
    return inject_toxic(
        "bandwidth", "bandwidth", proxy, stream, toxicity, attributes, configuration
    )


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("bandwidth", proxy, stream, configuration)
