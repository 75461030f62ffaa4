"""HTTP SLI sample: availability and latency percentiles over N requests (or T seconds).

Use with a Chaos Toolkit range tolerance on one of the returned keys, e.g.
    tolerance: {type: range, range: [0.99, 1.0], target: availability}
    tolerance: {type: range, range: [0, 500], target: p99_ms}
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypedDict, cast

import aiohttp

from chaosrun.measure.percentile import nearest_rank
from chaosrun.probes._config import service_url

__all__ = ["SliSample", "sli_sample", "summarise"]


class SliSample(TypedDict):
    """What `sli_sample` returns; a range tolerance names one key as its `target`."""

    requests: int
    ok: int
    errors: int
    availability: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    path: str


def summarise(latencies_ms: list[float], ok: int, total: int) -> dict[str, Any]:
    ordered = sorted(latencies_ms)
    return {
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "availability": round(ok / total, 6) if total else 0.0,
        "p50_ms": round(nearest_rank(ordered, 0.5), 3),
        "p90_ms": round(nearest_rank(ordered, 0.9), 3),
        "p95_ms": round(nearest_rank(ordered, 0.95), 3),
        "p99_ms": round(nearest_rank(ordered, 0.99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else 0.0,
    }


async def _sample(
    url: str, requests: int, duration_s: float | None, concurrency: int, timeout_s: float
) -> dict[str, Any]:
    latencies: list[float] = []
    ok = 0
    sent = 0
    stop_at = time.monotonic() + duration_s if duration_s else None
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one_worker() -> None:
            nonlocal ok, sent
            while True:
                if stop_at is not None:
                    if time.monotonic() >= stop_at:
                        return
                elif sent >= requests:
                    return
                sent += 1
                start = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        good = 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    good = False
                latencies.append((time.perf_counter() - start) * 1000.0)
                ok += good

        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
    return summarise(latencies, ok, len(latencies))


def sli_sample(
    *,
    path: str = "/api/play",
    requests: int = 50,
    duration_s: float = 0.0,
    concurrency: int = 4,
    timeout_s: float = 2.0,
    configuration: dict[str, Any] | None = None,
) -> SliSample:
    """Send `requests` GETs (or for `duration_s` seconds when > 0) and summarise the SLIs."""
    if requests < 1 or concurrency < 1 or timeout_s <= 0 or duration_s < 0:
        raise ValueError("requests, concurrency and timeout_s must be positive")
    url = service_url(configuration) + "/" + path.lstrip("/")
    result = asyncio.run(_sample(url, requests, duration_s or None, concurrency, timeout_s))
    result["path"] = path
    return cast(SliSample, result)
