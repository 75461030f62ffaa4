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

from chaosrun.measure.sli import window_stats
from chaosrun.measure.timeline import read_timeline

__all__ = ["LOAD_RATE_ENV", "TIMELINE_ENV", "live_sli"]

TIMELINE_ENV = "CHAOSRUN_TIMELINE"
LOAD_RATE_ENV = "CHAOSRUN_LOAD_RATE"


def live_sli(
    *,
    window_s: float = 2.0,
    endpoint: str = "",
    settle_s: float = 0.0,
    margin_s: float = 0.25,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SLIs of the requests scheduled in [now - margin_s - window_s, now - margin_s).

    The load records a request when it completes, so a request still unanswered after
    `margin_s` is not in the timeline yet. Over all endpoints the expected count is known
    (constant rate): requests missing from the window are counted as failed — a stalled
    service must not look healthy because its requests have not come back. `settle_s` waits
    first, so the window covers traffic sent after the previous activity.
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
    records = [r for r in read_timeline(Path(path)) if not endpoint or r.endpoint == endpoint]
    stats = window_stats(records, end - window_s, end)
    rate = float(os.environ.get(LOAD_RATE_ENV) or 0)
    expected = round(rate * window_s) if rate and not endpoint else None
    missing = max(0, expected - stats.count) if expected is not None else 0
    total = stats.count + missing
    result: dict[str, Any] = {
        "endpoint": endpoint or "*",
        "window_s": window_s,
        "requests": stats.count,
        "expected": expected,
        "missing": missing,
        "ok": stats.ok,
        "errors": stats.errors + missing,
        "degraded": stats.degraded,
        "availability": round(stats.ok / total, 6) if total else None,
        "p50_ms": stats.p50_ms,
        "p90_ms": stats.p90_ms,
        "p95_ms": stats.p95_ms,
        "p99_ms": stats.p99_ms,
        "max_ms": stats.max_ms,
    }
    return result
