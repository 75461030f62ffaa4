"""A dependency's calls traced from the load's requests to what reached it (pure).

The load tags every request with ``X-Chaosrun-Request``; a service that passes the header on to
its dependencies (a reverse proxy does, the lab's gateway does) lets chaosrun tell per request,
without asking the service, whether it reached the dependency: an arrival recorded there carries
its id. A request that reached it held a call from its first arrival there until ANSWER_S before
the client had its answer. Unlike the dependency's own view, that span still counts a call whose
answer a toxic holds inside Toxiproxy: the dependency sees such a request end at once while the
service waits on it. ANSWER_S: the service ends its call (frees its slot) a moment before the
client reads its answer, and a request sent in that moment finds the slot free. Measured on the
lab: 0.3 ms for one answer, 3.5 ms when a removed toxic let ten held answers through at once,
usually under 4 ms under load, once 37.5 ms in eight runs (a busy client loop reads late).
Spans to the client's answer counted 11 calls in flight on a lab whose gateway never had more
than 10. The cost: an excess call shorter than ANSWER_S is not seen.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaosrun.checks.observation import Arrival
from chaosrun.measure.timeline import RequestRecord

__all__ = ["ANSWER_S", "TracedCalls", "trace_calls"]

ANSWER_S = 0.05  # the most a client reads an answer after the service's call ended


@dataclass(frozen=True, slots=True)
class TracedCalls:
    reached: Mapping[str, float]  # request id -> its first arrival at the dependency
    starts: tuple[float, ...]  # sorted: each traced call's first arrival at the dependency
    ends: tuple[float, ...]  # sorted: ANSWER_S before its request's answer reached the client

    def in_flight(self, at: float) -> int:
        """Traced calls started at or before `at` and not answered by then."""
        return bisect_right(self.starts, at) - bisect_right(self.ends, at)

    @property
    def max_in_flight(self) -> int:
        return max((self.in_flight(s) for s in self.starts), default=0)


def trace_calls(
    timeline: Iterable[RequestRecord], arrivals: Sequence[Arrival], endpoints: Iterable[str]
) -> TracedCalls | None:
    """The calls that requests on `endpoints` made to the dependency `arrivals` were recorded
    at; None when it was reached yet none of its arrivals carries a request id of `timeline`
    (the service does not pass the header on: no request can be traced)."""
    first: dict[str, float] = {}
    for a in arrivals:
        if a.request_id is not None and (a.request_id not in first or a.at < first[a.request_id]):
            first[a.request_id] = a.at
    wanted = frozenset(endpoints)
    spans = [
        (first[r.request_id], max(r.completed - ANSWER_S, first[r.request_id]))
        for r in timeline
        if r.endpoint in wanted and r.request_id in first
    ]
    if arrivals and not spans:
        return None
    return TracedCalls(
        reached=first,
        starts=tuple(sorted(s for s, _ in spans)),
        ends=tuple(sorted(e for _, e in spans)),
    )
