"""Recovery as a pure function of the timeline, the fault windows and the SLO.

- `t_inject`: the earliest fault injection; `t_clear`: the latest revert (None if one never
  cleared within the observation).
- `t_detect`: the first SLO point at or after `t_inject` that is breached.
- `t_recover`: the first point p after `t_detect` with met=True such that no point in
  [p, p + stability_s] is breached (points without enough data neither break nor prove it) and
  the timeline reaches p + stability_s. It may precede `t_clear` (the service coped with the fault
  still in place): `recovery_after_clear_s` is then negative.
- RTO = t_recover - t_inject. Every time is a request's scheduled time, so each is resolved to
  one request interval (`resolution_s`, the median interval between scheduled times).

`state`: "no-impact" (no breach, and the SLO was evaluated up to `t_clear` (or `t_inject`) +
stability_s), "recovered", "not-recovered" (breached and not stable again before the run ended),
"no-data" (no breach, but too little traffic after injection to say the SLO held).
"""

from __future__ import annotations

import itertools
import math
import statistics
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
    detect = next((p for p in points if p.t >= t_inject and p.met is False), None)
    t_detect = None if detect is None else detect.t
    t_recover = None
    if t_detect is not None:
        t_recover = _first_stable(points, t_detect, stability_s, last)
        state: RecoveryState = "not-recovered" if t_recover is None else "recovered"
    else:
        horizon = (t_inject if t_clear is None else t_clear) + stability_s
        evaluated = any(p.met is not None and p.t >= horizon for p in points)
        state = "no-impact" if evaluated else "no-data"

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
        requests=len(in_span),
        error_budget=budget,
        impact=impact_window(ordered, t_inject, t_end, slo.strictest_ms),
        before=window_stats(ordered, min(first, t_inject), t_inject),
        during=window_stats(ordered, t_inject, during_end),
        after=None if t_clear is None else window_stats(ordered, t_clear, t_end),
    )


def _first_stable(
    points: Sequence[SloPoint], t_detect: float, stability_s: float, last: float
) -> float | None:
    """The first met point after t_detect followed by stability_s without a breach."""
    next_breach = math.inf  # scanning backwards: time of the nearest breach at or after i
    candidate: float | None = None
    for p in reversed(points):
        if p.t <= t_detect:
            break
        if p.met is False:
            next_breach = p.t
        elif p.met and p.t + stability_s <= last and next_breach > p.t + stability_s:
            candidate = p.t  # keep the earliest
    return candidate


def _resolution(ordered: Sequence[RequestRecord]) -> float:
    gaps = [b.scheduled - a.scheduled for a, b in itertools.pairwise(ordered)]
    positive = [g for g in gaps if g > 0]
    return statistics.median(positive) if positive else 0.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
