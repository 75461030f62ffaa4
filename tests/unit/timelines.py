"""Synthetic open-loop timelines for the measurement tests."""

from __future__ import annotations

from collections.abc import Callable

from chaosrun.measure.timeline import RequestRecord

__all__ = ["T0", "failed", "ok", "synthetic"]

T0 = 1_796_017_540.0  # an epoch second, as in real timelines


def ok(t: float, latency_ms: float = 5.0, *, degraded: bool = False) -> RequestRecord:
    return RequestRecord(t, t + 0.0001, latency_ms, 200, "", "/api/play", degraded)


def failed(t: float, latency_ms: float = 1.0) -> RequestRecord:
    return RequestRecord(t, t + 0.0001, latency_ms, 0, "connect", "/api/play")


def synthetic(
    rate: float,
    duration_s: float,
    *,
    start: float = T0,
    bad: Callable[[float], bool] = lambda rel: False,
    latency_ms: Callable[[float], float] = lambda rel: 5.0,
) -> list[RequestRecord]:
    """Constant-rate open-loop timeline; `bad`/`latency_ms` get the time relative to `start`."""
    interval = 1.0 / rate
    records = []
    for i in range(round(rate * duration_s)):
        rel = i * interval
        t = start + rel
        records.append(failed(t) if bad(rel) else ok(t, latency_ms(rel)))
    return records
