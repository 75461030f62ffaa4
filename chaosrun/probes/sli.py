"""Live SLIs from the run's timeline (the open-loop load), over a trailing window.

Needs a run with `load:` in its chaosrun block: the supervisor passes the timeline's path in
$CHAOSRUN_TIMELINE and the load's rate in $CHAOSRUN_LOAD_RATE. Use with a range tolerance on a
returned key, e.g.  tolerance: {type: range, range: [0.99, 1.0], target: availability}
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from chaosrun.measure.percentile import nearest_rank
from chaosrun.measure.timeline import read_timeline

__all__ = ["LOAD_RATE_ENV", "TIMELINE_ENV", "live_sli"]

TIMELINE_ENV = "CHAOSRUN_TIMELINE"
LOAD_RATE_ENV = "CHAOSRUN_LOAD_RATE"


def live_sli(
    *,
    window_s: float = 2.0,
    endpoint: str = "",
    settle_s: float = 0.0,
    margin_s: float = 0.5,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SLIs of the requests scheduled in [now - margin_s - window_s, now - margin_s).

    The load records a request when it completes, so a request still unanswered after
    `margin_s` is not in the timeline yet. Over all endpoints the expected count is known
    (constant rate): the requests missing from the window are still unanswered after at least
    `margin_s`, so they count as that slow in the latency percentiles (a stalled service must
    not look fast because its requests have not come back) and not at all in availability
    (they have not failed yet). `settle_s` waits first, so the window covers traffic sent after
    the previous activity.
    """
    path = os.environ.get(TIMELINE_ENV)
    if not path:
        raise ValueError(
            f"no live timeline: declare 'load' in the chaosrun block (${TIMELINE_ENV} is unset)"
        )
    if window_s <= 0 or settle_s < 0 or margin_s < 0:
        raise ValueError("window_s must be positive, settle_s and margin_s non-negative")
    if settle_s:
        time.sleep(settle_s)
    end = time.time() - margin_s
    records = [
        r
        for r in read_timeline(Path(path))
        if end - window_s <= r.scheduled < end and (not endpoint or r.endpoint == endpoint)
    ]
    rate = float(os.environ.get(LOAD_RATE_ENV) or 0)
    expected = round(rate * window_s) if rate and not endpoint else None
    missing = max(0, expected - len(records)) if expected is not None else 0
    ok = sum(1 for r in records if r.ok)
    latencies = sorted([r.latency_ms for r in records] + [margin_s * 1000.0] * missing)
    result: dict[str, Any] = {
        "endpoint": endpoint or "*",
        "window_s": window_s,
        "requests": len(records),
        "expected": expected,
        "unanswered": missing,
        "ok": ok,
        "errors": len(records) - ok,
        "degraded": sum(1 for r in records if r.degraded),
        "availability": round(ok / len(records), 6) if records else None,
    }
    for name, q in (("p50_ms", 50), ("p90_ms", 90), ("p95_ms", 95), ("p99_ms", 99)):
        result[name] = round(nearest_rank(latencies, q / 100), 3) if latencies else None
    result["max_ms"] = round(latencies[-1], 3) if latencies else None
    return result
