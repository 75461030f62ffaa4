"""Stop conditions evaluated continuously by the supervisor from the live timeline.

Pure parts: `observe` (the SLI a safeguard reads, at a moment) and `BreachClock` (how long each
condition has held). `SliMonitor` feeds them the records the load appends to the timeline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from chaosrun.measure.timeline import RequestRecord
from chaosrun.measure.trailing import trailing_sli
from chaosrun.model import PERCENTILE_LEVELS, SliGuard

__all__ = [
    "BreachClock",
    "Firing",
    "Observation",
    "SliMonitor",
    "margin_for",
    "observe",
]

# A request needs this long to come back from a healthy service and reach the timeline
# (the load flushes every 100 ms): the trailing window ends this far before now.
_AVAILABILITY_MARGIN_S = 0.25
_SLACK_S = 3.0  # above the load's default request timeout (2 s)


@dataclass(frozen=True, slots=True)
class Firing:
    """A stop condition that held long enough: why the run is being aborted."""

    safeguard: str
    kind: str  # slo | probe | toxiproxy | target | load | relay
    observed: str
    breach_since: float  # wall clock: the condition held from here ...
    at: float  # ... and fired here

    @property
    def reason(self) -> str:
        if self.kind in ("toxiproxy", "target", "load"):
            return self.observed
        return f"safeguard '{self.safeguard}' fired: {self.observed}"

    def to_dict(self) -> dict[str, object]:
        return {
            "safeguard": self.safeguard,
            "kind": self.kind,
            "observed": self.observed,
            "breach_since": round(self.breach_since, 6),
            "fired_at": round(self.at, 6),
        }


@dataclass(frozen=True, slots=True)
class Observation:
    value: float | None  # None: not enough data to judge (never a breach)
    breached: bool
    text: str


def margin_for(guard: SliGuard) -> float:
    """How far before now the guard's window ends.

    For a latency threshold of Z ms, a request scheduled more than Z ms ago that has not come back
    is certainly slower than Z: the window ends just past Z, and unanswered requests count as
    slower than the threshold.
    """
    if guard.metric in ("availability", "error_budget"):
        return _AVAILABILITY_MARGIN_S
    return max(_AVAILABILITY_MARGIN_S, guard.threshold / 1000.0 + 0.05)


@dataclass(slots=True)
class BudgetTally:
    """Completed requests since the experiment started, for the error-budget condition."""

    since: float
    ok: int = 0
    failed: int = 0

    def add(self, records: Iterable[RequestRecord]) -> None:
        for r in records:
            if r.scheduled >= self.since:
                if r.ok:
                    self.ok += 1
                else:
                    self.failed += 1


def observe(
    guard: SliGuard,
    records: Iterable[RequestRecord],
    now: float,
    rate: float | None,
    slo_availability: float | None,
    tally: BudgetTally,
    load_started: float | None = None,
) -> Observation:
    if guard.metric == "error_budget":
        return _budget(guard, slo_availability, tally)
    margin = margin_for(guard)
    sli = trailing_sli(records, now, guard.window_s, margin, rate, guard.endpoint, load_started)
    on = f" on {guard.endpoint}" if guard.endpoint else ""
    if guard.metric == "availability":
        value = sli.availability
        if value is None:
            return Observation(None, False, f"no completed requests{on} in the window")
        text = (
            f"availability{on} {value:.3f} < {guard.threshold:g} "
            f"({sli.errors}/{sli.requests} failed in {guard.window_s:g} s)"
        )
        return Observation(value, value < guard.threshold, text)
    latency = sli.percentile_ms(PERCENTILE_LEVELS[guard.metric] / 100)
    if latency is None:
        return Observation(None, False, f"no requests{on} in the window")
    unanswered = f", {sli.unanswered} unanswered" if sli.unanswered else ""
    text = (
        f"{guard.metric}{on} {latency:.0f} ms > {guard.threshold:g} ms "
        f"({sli.requests} answered{unanswered} in {guard.window_s:g} s)"
    )
    return Observation(latency, latency > guard.threshold, text)


def _budget(guard: SliGuard, slo_availability: float | None, tally: BudgetTally) -> Observation:
    if slo_availability is None or slo_availability >= 1.0:
        return Observation(None, False, "no error budget (slo.availability is absent or 1)")
    requests = tally.ok + tally.failed
    allowed = (1.0 - slo_availability) * requests
    if allowed < 1.0:
        return Observation(None, False, f"too few requests ({requests}) for a budget")
    burned = tally.failed / allowed
    text = (
        f"error budget burned {burned:.2f} > {guard.threshold:g} "
        f"({tally.failed} failed of {requests}; {allowed:.1f} allowed at {slo_availability:g})"
    )
    return Observation(burned, burned > guard.threshold, text)


@dataclass(slots=True)
class BreachClock:
    """When each named condition started to hold without interruption."""

    since: dict[str, float] = field(default_factory=dict)

    def update(self, name: str, breached: bool, now: float, for_s: float) -> float | None:
        """The start of the breach when it has held for `for_s`, else None."""
        if not breached:
            self.since.pop(name, None)
            return None
        start = self.since.setdefault(name, now)
        return start if now - start >= for_s else None


class SliMonitor:
    """Evaluates SLI stop conditions against the records the load appends to the timeline."""

    def __init__(
        self,
        guards: tuple[SliGuard, ...],
        rate: float,
        slo_availability: float | None,
        started_at: float,
    ) -> None:
        self.guards = guards
        self.rate = rate
        self.slo_availability = slo_availability
        self._records: deque[RequestRecord] = deque()
        self._keep_s = max((g.window_s + margin_for(g) for g in guards), default=0.0) + 1.0
        self._tally = BudgetTally(started_at)
        self._clock = BreachClock()
        self._load_started: float | None = None

    def poll(self, now: float, fresh: list[RequestRecord]) -> Firing | None:
        self._tally.add(fresh)
        self._records.extend(fresh)
        if fresh:
            first = min(r.scheduled for r in fresh)
            self._load_started = min(first, self._load_started or first)
        # Records arrive in completion order: the oldest kept can be younger than a slow one
        # still to come, so keep a slack of the longest a request stays unanswered (timeout).
        while self._records and self._records[0].scheduled < now - self._keep_s - _SLACK_S:
            self._records.popleft()
        for guard in self.guards:
            seen = observe(guard, self._records, now, self.rate, self.slo_availability, self._tally)
            since = self._clock.update(guard.name, seen.breached, now, guard.for_s)
            if since is not None:
                return Firing(guard.name, "slo", seen.text, since, now)
        return None
