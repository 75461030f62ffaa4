"""Recovery as a pure function of the timeline, the fault windows and the SLO.

Every moment is a request's *scheduled* time, i.e. a moment in the service's life, resolved to one
request interval (`resolution_s`, the median interval between scheduled times). The SLO's trailing
window decides *whether* the SLO is breached; it never decides *when*:

- a request is bad for an objective when it breaks it on its own (failed, for availability; failed
  or slower than the limit, for a latency percentile; answered by a fallback, for `max_degraded`);
- a bad request *belongs to a breach* when it lies in a trailing window of `window_s` that breaks
  that objective (a bad request no window breaks is noise the SLO allows);
- `t_inject`: the earliest fault injection; `t_clear`: the latest revert (None if one never cleared
  within the observation);
- `t_detect` (detected): the first request at or after `t_inject` that belongs to a breach. A breach
  before injection is not detection; an ongoing one is detected at the first such request after it;
- `t_recover` (recovered): the first moment c after `t_detect` after which the SLO keeps holding for
  `stability_s`: c is the request right after a request that belongs to a breach, the next request
  that belongs to a breach comes later than c + stability_s (or never), and the SLO was judged (a
  window with enough requests) up to c + stability_s. A recovery that flaps back into breach within
  `stability_s` does not count. It may precede `t_clear` (the service coped with the fault still in
  place): `recovery_after_clear_s` is then negative;
- RTO = t_recover - t_inject; TTD = t_detect - t_inject.

For an outage with a clean start and end, these figures do not depend on `window_s`; they do on
`stability_s` only when the service flaps. `window_s` only decides how many bad requests in how long
make a breach; an isolated bad request within one window after the outage joins it.

`state`: "no-impact" (no breach, and the SLO was judged up to `t_clear` (or `t_inject`) +
stability_s), "recovered", "not-recovered" (breached and not stable again before the run ended),
"no-data" (no breach, but the SLO was not judged that far: too little traffic, or the load ended).
"""

from __future__ import annotations

import itertools
import math
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from chaosrun.checks.observation import FaultWindow
from chaosrun.measure.sli import (
    Impact,
    SloPoint,
    SloSpec,
    WindowStats,
    impact_window,
    slo_series,
    window_stats,
)
from chaosrun.measure.timeline import RequestRecord

__all__ = ["ErrorBudget", "Recovery", "RecoveryState", "analyse_recovery"]

RecoveryState = Literal["no-impact", "recovered", "not-recovered", "no-data"]


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """Allowed bad requests over the whole timeline, (1 - availability) * requests, and its use."""

    availability: float
    requests: int
    failed: int

    @property
    def allowed(self) -> float:
        return (1.0 - self.availability) * self.requests

    @property
    def burned(self) -> float:
        """failed / allowed: > 1 is overspent (inf when nothing was allowed but some failed)."""
        if self.failed == 0:
            return 0.0
        return self.failed / self.allowed if self.allowed > 0 else math.inf

    def to_dict(self) -> dict[str, object]:
        burned = self.burned
        return {
            "availability": self.availability,
            "requests": self.requests,
            "allowed": round(self.allowed, 3),
            "failed": self.failed,
            "burned": None if math.isinf(burned) else round(burned, 4),
            "overspent": self.failed > self.allowed,
        }


@dataclass(frozen=True, slots=True)
class Recovery:
    state: RecoveryState
    t_inject: float
    t_clear: float | None
    t_detect: float | None
    t_recover: float | None
    t_end: float  # end of the timeline: last scheduled time + one interval
    window_s: float
    stability_s: float
    resolution_s: float
    failed_requests: int  # not ok, scheduled in [t_inject, t_recover) (or to the end)
    degraded_requests: int  # ok but answered by a fallback, in the same span
    requests: int  # all requests in that span
    error_budget: ErrorBudget | None  # None without an availability objective
    impact: Impact | None  # per-request impact within [t_inject, end]
    before: WindowStats  # [first request, t_inject)
    during: WindowStats  # [t_inject, t_clear or end)
    after: WindowStats | None  # [t_clear, end); None if the fault never cleared

    @property
    def ttd_s(self) -> float | None:
        return None if self.t_detect is None else self.t_detect - self.t_inject

    @property
    def rto_s(self) -> float | None:
        return None if self.t_recover is None else self.t_recover - self.t_inject

    @property
    def recovery_after_clear_s(self) -> float | None:
        if self.t_recover is None or self.t_clear is None:
            return None
        return self.t_recover - self.t_clear

    def to_dict(self) -> dict[str, object]:
        """JSON-safe, for the journal: epoch times and seconds rounded to ms."""
        impact = None
        if self.impact is not None:
            impact = {
                "first_bad": round(self.impact.first_bad, 3),
                "ended": _ms(self.impact.ended),
                "duration_s": _ms(self.impact.duration_s),
                "bad_requests": self.impact.bad,
                "first_bad_rel_s": _ms(self._rel(self.impact.first_bad)),
                "ended_rel_s": _ms(self._rel(self.impact.ended)),
            }
        return {
            "state": self.state,
            "t_inject": round(self.t_inject, 3),
            "t_clear": _ms(self.t_clear),
            "t_detect": _ms(self.t_detect),
            "t_recover": _ms(self.t_recover),
            "t_end": round(self.t_end, 3),
            "relative_to_inject_s": {
                "clear": _ms(self._rel(self.t_clear)),
                "detect": _ms(self._rel(self.t_detect)),
                "recover": _ms(self._rel(self.t_recover)),
                "end": _ms(self._rel(self.t_end)),
            },
            "ttd_s": _ms(self.ttd_s),
            "rto_s": _ms(self.rto_s),
            "recovery_after_clear_s": _ms(self.recovery_after_clear_s),
            "resolution_s": round(self.resolution_s, 6),
            "window_s": self.window_s,
            "stability_s": self.stability_s,
            "failed_requests": self.failed_requests,
            "degraded_requests": self.degraded_requests,
            "requests": self.requests,
            "error_budget": None if self.error_budget is None else self.error_budget.to_dict(),
            "impact": impact,
            "before": self.before.to_dict(),
            "during": self.during.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
        }

    def _rel(self, t: float | None) -> float | None:
        return None if t is None else t - self.t_inject


def analyse_recovery(
    records: Iterable[RequestRecord],
    faults: Sequence[FaultWindow],
    slo: SloSpec,
    stability_s: float = 2.0,
) -> Recovery:
    """Raises ValueError without a fault window (there is nothing to recover from)."""
    if not faults:
        raise ValueError("recovery needs at least one fault window")
    if stability_s < 0:
        raise ValueError(f"stability_s must be >= 0, got {stability_s}")
    ordered = sorted(records, key=lambda r: r.scheduled)
    t_inject = min(f.injected_at for f in faults)
    cleared = [f.cleared_at for f in faults]
    t_clear = None if any(c is None for c in cleared) else max(c for c in cleared if c is not None)
    resolution = _resolution(ordered)
    first = ordered[0].scheduled if ordered else t_inject
    last = ordered[-1].scheduled if ordered else t_inject
    t_end = last + resolution if resolution > 0 else math.nextafter(last, math.inf)

    points = slo_series(ordered, slo)
    judged = [p.t for p in points if p.met is not None]
    judged_until = judged[-1] if judged else -math.inf
    times = [r.scheduled for r in ordered]
    breaching = [t for t in _breaching_times(ordered, times, points, slo) if t >= t_inject]
    t_detect = breaching[0] if breaching else None
    t_recover = None
    if t_detect is not None:
        t_recover = _recovered_at(times, breaching, stability_s, judged_until)
        state: RecoveryState = "not-recovered" if t_recover is None else "recovered"
    else:
        horizon = (t_inject if t_clear is None else t_clear) + stability_s
        state = "no-impact" if judged_until >= horizon else "no-data"

    span_end = t_end if t_recover is None else t_recover
    in_span = [r for r in ordered if t_inject <= r.scheduled < span_end]
    budget = None
    if slo.availability is not None:
        failed_all = sum(not r.ok for r in ordered)
        budget = ErrorBudget(slo.availability, len(ordered), failed_all)
    during_end = t_end if t_clear is None else t_clear
    return Recovery(
        state=state,
        t_inject=t_inject,
        t_clear=t_clear,
        t_detect=t_detect,
        t_recover=t_recover,
        t_end=t_end,
        window_s=slo.window_s,
        stability_s=stability_s,
        resolution_s=resolution,
        failed_requests=sum(not r.ok for r in in_span),
        degraded_requests=sum(r.ok and r.degraded for r in in_span),
        requests=len(in_span),
        error_budget=budget,
        impact=impact_window(
            ordered, t_inject, t_end, slo.strictest_ms, slo.max_degraded is not None
        ),
        before=window_stats(ordered, min(first, t_inject), t_inject),
        during=window_stats(ordered, t_inject, during_end),
        after=None if t_clear is None else window_stats(ordered, t_clear, t_end),
    )


def _breaching_times(
    ordered: Sequence[RequestRecord],
    times: Sequence[float],
    points: Sequence[SloPoint],
    slo: SloSpec,
) -> list[float]:
    """Scheduled times of the bad requests that lie in a window breaking their objective.

    A point's window is the `count` requests that end with the last one scheduled at its time:
    exactly the requests `slo_series` judged, with no second window arithmetic to round apart.
    """
    belongs = [False] * len(ordered)
    for objective in slo.objectives():
        cover = [0] * (len(ordered) + 1)  # difference array over record indices
        for p in points:
            if objective.name in p.broken:
                end = bisect_right(times, p.t)
                cover[end - p.count] += 1
                cover[end] -= 1
        depth = 0
        for i, r in enumerate(ordered):
            depth += cover[i]
            if depth > 0 and not belongs[i] and objective.is_bad(r):
                belongs[i] = True
    return [t for t, b in zip(times, belongs, strict=True) if b]


def _recovered_at(
    times: Sequence[float], breaching: Sequence[float], stability_s: float, judged_until: float
) -> float | None:
    """The first request after a breaching one from which no breaching request follows within
    stability_s, provided the SLO was judged that far; None if there is none in the timeline."""
    for i, bad_at in enumerate(breaching):
        k = bisect_right(times, bad_at)
        if k == len(times):
            return None  # the timeline ends in breach
        candidate = times[k]
        next_bad = breaching[i + 1] if i + 1 < len(breaching) else math.inf
        if next_bad > candidate + stability_s:
            return candidate if judged_until >= candidate + stability_s else None
    return None


def _resolution(ordered: Sequence[RequestRecord]) -> float:
    gaps = [b.scheduled - a.scheduled for a, b in itertools.pairwise(ordered)]
    positive = [g for g in gaps if g > 0]
    return statistics.median(positive) if positive else 0.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
