"""The SLI a person watches while a run goes on: one reading per second from the live timeline.

Each reading covers the trailing second that ends `MARGIN_S` before now (requests still in flight
are not in the timeline yet; unanswered ones count as that slow, as in the stop conditions). It is
shown, never judged: verdicts come from the whole timeline afterwards.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from chaosrun.measure.timeline import RequestRecord
from chaosrun.measure.trailing import trailing_sli

__all__ = ["LiveReading", "LiveSli"]

MARGIN_S = 0.25
WINDOW_S = 1.0
EVERY_S = 1.0
_KEEP_S = WINDOW_S + MARGIN_S + 3.0  # a slow request may arrive up to its timeout late


@dataclass(frozen=True, slots=True)
class LiveReading:
    at_s: float  # since the load's first request
    requests: int
    availability: float | None
    p99_ms: float | None
    degraded: int

    def to_event(self) -> dict[str, object]:
        return {
            "event": "sli",
            "at_s": round(self.at_s, 3),
            "requests": self.requests,
            "availability": self.availability,
            "p99_ms": self.p99_ms,
            "degraded": self.degraded,
        }


class LiveSli:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._records: deque[RequestRecord] = deque()
        self._started: float | None = None
        self._next: float | None = None

    def reading(self, now: float, fresh: list[RequestRecord]) -> LiveReading | None:
        """A reading once per `EVERY_S`, else None."""
        self._records.extend(fresh)
        if fresh and self._started is None:
            self._started = min(r.scheduled for r in fresh)
            self._next = self._started + WINDOW_S + MARGIN_S
        while self._records and self._records[0].scheduled < now - _KEEP_S:
            self._records.popleft()
        if self._started is None or self._next is None or now < self._next:
            return None
        self._next = max(self._next + EVERY_S, now)
        sli = trailing_sli(self._records, now, WINDOW_S, MARGIN_S, self.rate, "", self._started)
        return LiveReading(
            at_s=now - MARGIN_S - self._started,
            requests=sli.requests,
            availability=sli.availability,
            p99_ms=sli.percentile_ms(0.99),
            degraded=sli.degraded,
        )
