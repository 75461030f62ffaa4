"""limit_data: close the connection once `limit_bytes` bytes have passed on the stream."""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {"limit_bytes": (0, 1099511627776)}
TOXIC = ToxicSpec("limit_data", {"bytes": "limit_bytes"})


def inject(
    *,
    proxy: str,
    limit_bytes: int,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {"limit_bytes": limit_bytes}
    return inject_toxic("limit_data", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("limit_data", proxy, stream, configuration)
