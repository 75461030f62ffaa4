"""slicer: slice data into packets of `average_size_bytes` (± `size_variation_bytes`).

Packets are sent `delay_us` apart.
"""

from __future__ import annotations

from typing import Any

from chaosrun.faults._toxic import ToxicSpec, inject_toxic, revert_toxic

__all__ = ["inject", "revert"]

LIMITS = {
    "average_size_bytes": (1, 1073741824),
    "size_variation_bytes": (0, 1073741824),
    "delay_us": (0, 60000000),
}
TOXIC = ToxicSpec(
    "slicer",
    {
        "average_size": "average_size_bytes",
        "size_variation": "size_variation_bytes",
        "delay": "delay_us",
    },
)


def inject(
    *,
    proxy: str,
    average_size_bytes: int,
    size_variation_bytes: int = 0,
    delay_us: int = 0,
    stream: str = "downstream",
    toxicity: float = 1.0,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    arguments = {
        "average_size_bytes": average_size_bytes,
        "size_variation_bytes": size_variation_bytes,
        "delay_us": delay_us,
    }
    return inject_toxic("slicer", TOXIC, proxy, stream, toxicity, arguments, configuration)


def revert(
    *, proxy: str, stream: str = "downstream", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return revert_toxic("slicer", proxy, stream, configuration)
