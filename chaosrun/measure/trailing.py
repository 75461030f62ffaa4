"""SLIs over a trailing window of the live timeline, counting unanswered requests.

The load records a request when it completes, so at time `now` the requests scheduled in the last
moments are not in the timeline yet. The window therefore ends `margin_s` before `now`. Over all
endpoints the expected count is known (constant rate): requests missing from the window are still
unanswered after at least `margin_s`, so they count as that slow in latency percentiles (a stalled
service must not look fast because its requests have not come back) and not at all in
availability (they have not failed yet).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from chaosrun.measure.percentile import nearest_rank
from chaosrun.measure.timeline import RequestRecord

__all__ = ["TrailingSli", "trailing_sli"]


@dataclass(frozen=True, slots=True)
class TrailingSli:
    start: float
    end: float
    requests: int
    expected: int | None  # None when not known (one endpoint of a mix, or no rate)
    ok: int
    degraded: int
    latencies_ms: tuple[float, ...]  # sorted; unanswered requests count as margin_s

    @property
    def unanswered(self) -> int:
        return 0 if self.expected is None else max(0, self.expected - self.requests)

    @property
    def errors(self) -> int:
        return self.requests - self.ok

    @property
    def availability(self) -> float | None:
        return self.ok / self.requests if self.requests else None

    def percentile_ms(self, q: float) -> float | None:
        return nearest_rank(list(self.latencies_ms), q) if self.latencies_ms else None


def trailing_sli(
    records: Iterable[RequestRecord],
    now: float,
    window_s: float,
    margin_s: float,
    rate: float | None,
    endpoint: str = "",
    load_started: float | None = None,
) -> TrailingSli:
    """The requests scheduled in [now - margin_s - window_s, now - margin_s).

    `load_started` (the first scheduled time) keeps the part of the window before the load began
    from counting as unanswered requests. The expected count rounds down: a window catches
    floor or ceil of rate x span slots depending on where it falls.
    """
    end = now - margin_s
    start = end - window_s
    selected = [
        r
        for r in records
        if start <= r.scheduled < end and (not endpoint or r.endpoint == endpoint)
    ]
    span = max(0.0, end - max(start, load_started if load_started is not None else start))
    expected = math.floor(rate * span + 1e-9) if rate and not endpoint else None
    missing = max(0, expected - len(selected)) if expected is not None else 0
    latencies = sorted([r.latency_ms for r in selected] + [margin_s * 1000.0] * missing)
    return TrailingSli(
        start=start,
        end=end,
        requests=len(selected),
        expected=expected,
        ok=sum(1 for r in selected if r.ok),
        degraded=sum(1 for r in selected if r.degraded),
        latencies_ms=tuple(latencies),
    )
