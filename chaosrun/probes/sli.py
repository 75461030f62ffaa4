"""Live SLIs from the run's timeline (the open-loop load), over a trailing window.

Needs a run with `load:` in its chaosrun block: the supervisor passes the timeline's path in
$CHAOSRUN_TIMELINE and the load's rate in $CHAOSRUN_LOAD_RATE. Use with a range tolerance on a
returned key, e.g.  tolerance: {type: range, range: [0.99, 1.0], target: availability}
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, TypedDict

from chaosrun.measure.timeline import read_timeline
from chaosrun.measure.trailing import trailing_sli

__all__ = ["LOAD_RATE_ENV", "TIMELINE_ENV", "LiveSli", "live_sli"]

TIMELINE_ENV = "CHAOSRUN_TIMELINE"
LOAD_RATE_ENV = "CHAOSRUN_LOAD_RATE"


class LiveSli(TypedDict):
    """What `live_sli` returns; a range tolerance names one key as its `target`.

    `availability` and the latencies are None when the window holds no request."""

    endpoint: str
    window_s: float
    requests: int
    expected: int | None
    unanswered: int
    ok: int
    errors: int
    degraded: int
    availability: float | None
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def live_sli(
    *,
    window_s: float = 2.0,
    endpoint: str = "",
    settle_s: float = 0.0,
    margin_s: float = 0.5,
    configuration: dict[str, Any] | None = None,
) -> LiveSli:
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
    rate = float(os.environ.get(LOAD_RATE_ENV) or 0)
    sli = trailing_sli(read_timeline(Path(path)), time.time(), window_s, margin_s, rate, endpoint)

    def ms(q: float) -> float | None:
        value = sli.percentile_ms(q)
        return None if value is None else round(value, 3)

    return LiveSli(
        endpoint=endpoint or "*",
        window_s=window_s,
        requests=sli.requests,
        expected=sli.expected,
        unanswered=sli.unanswered,
        ok=sli.ok,
        errors=sli.errors,
        degraded=sli.degraded,
        availability=None if sli.availability is None else round(sli.availability, 6),
        p50_ms=ms(0.50),
        p90_ms=ms(0.90),
        p95_ms=ms(0.95),
        p99_ms=ms(0.99),
        max_ms=round(sli.latencies_ms[-1], 3) if sli.latencies_ms else None,
    )
