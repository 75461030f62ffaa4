"""What an experiment's ``expect:`` block declares, and how every check reads an observation.

The dataclasses are parsed from YAML by field name (``EXPECTATION_KINDS`` maps the YAML key to
its class); each is the second argument of its check (`check_circuit_breaker`, `check_bulkhead`,
`check_timeout`). Units are in the field names.

Selection rules shared by the checks (pure helpers below):

- the *fault period* of a dependency runs from the first injection of a fault whose target is the
  dependency to the last clearing of one (None while any is never cleared): several fault windows
  on one dependency are one period;
- a request belongs to a window by its *scheduled* time (the load is open loop), and its latency
  counts from that time; failed requests keep their latency (time to the error);
- percentiles are nearest-rank over the exact values (no histogram): p99 of n values is the
  ceil(0.99 n)-th smallest;
- the observation ends at the last thing it saw (a response, a transition, an arrival, a fault
  edge): open periods still open then end there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from chaosrun.checks.observation import (
    DependencySnapshot,
    FaultWindow,
    Observation,
    Verdict,
    not_judged,
)
from chaosrun.measure.percentile import nearest_rank
from chaosrun.measure.timeline import RequestRecord

__all__ = [
    "EXPECTATION_KINDS",
    "BreakerExpectation",
    "BulkheadExpectation",
    "DegradationExpectation",
    "FaultPeriod",
    "TimeoutExpectation",
    "WritesExpectation",
    "all_failed",
    "all_not_judged",
    "fault_period",
    "fault_subject",
    "fmt_ms",
    "fmt_s",
    "n_of",
    "no_fault",
    "no_snapshot",
    "observation_end",
    "percentile",
    "period_end",
    "period_of",
    "requests_in",
    "using",
]


@dataclass(frozen=True, slots=True)
class BreakerExpectation:
    dependency: str
    opens_within_s: float = 2.0
    fail_fast_p99_ms: float = 50.0
    reset_timeout_s: float = 1.0
    tolerance_s: float = 0.5
    closes_within_s: float = 5.0
    # The service's own account of its breaker, read from its Prometheus metrics during the
    # run (e.g. resilience4j_circuitbreaker_state{name="catalog"}); shown beside the verdicts.
    state_metric: str | None = None
    metrics_url: str | None = None  # default: the target's service URL + /metrics
    # The endpoints whose requests use the dependency, when the service does not say (the lab's
    # /state does); with one load endpoint, that one.
    endpoints: tuple[str, ...] = ()

    def invalid_fields(self) -> list[tuple[str, str]]:
        """(field, what was expected) for values their types alone do not rule out."""
        from chaosrun.record.breakerstate import parse_selector

        problems = []
        if self.state_metric is not None and parse_selector(self.state_metric) is None:
            problems.append(
                (
                    "state_metric",
                    f'expected a metric selector such as name{{label="value"}}, '
                    f"got {self.state_metric!r}",
                )
            )
        if self.metrics_url is not None and not self.metrics_url.startswith(
            ("http://", "https://")
        ):
            problems.append(
                ("metrics_url", f"expected an http:// or https:// URL, got {self.metrics_url!r}")
            )
        return problems


@dataclass(frozen=True, slots=True)
class BulkheadExpectation:
    dependency: str
    max_concurrency: int
    isolated_endpoints: tuple[str, ...]
    rejected_p99_ms: float = 50.0
    slo_availability: float = 0.99
    slo_p99_ms: float = 500.0
    # The endpoints whose requests use the dependency, when the service does not say (the lab's
    # /state does).
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeoutExpectation:
    dependency: str
    timeout_ms: float
    max_retries: int
    endpoint: str
    epsilon_ms: float = 100.0
    budget_ms: float | None = None


@dataclass(frozen=True, slots=True)
class DegradationExpectation:
    """What a service keeps doing while a resource it needs is exhausted (a full disk, ...)."""

    fault: str  # the fault kind whose windows make the period, e.g. "disk_full"
    # Endpoints that lose something and say so: answered, marked degraded, not failed.
    degraded_endpoints: tuple[str, ...] = ()
    # Endpoints that must not notice: they keep the SLO through the fault.
    slo_endpoints: tuple[str, ...] = ()
    slo_availability: float = 0.99
    slo_p99_ms: float = 500.0
    # Once the fault is cleared, no degraded answer on the degraded endpoints later than this.
    recovers_within_s: float | None = None

    def invalid_fields(self) -> list[tuple[str, str]]:
        problems = []
        if not self.degraded_endpoints and not self.slo_endpoints:
            problems.append(
                ("degraded_endpoints", "expected at least one endpoint here or in slo_endpoints")
            )
        if not 0 < self.slo_availability <= 1:
            problems.append(("slo_availability", "expected a fraction in (0, 1]"))
        return problems


@dataclass(frozen=True, slots=True)
class WritesExpectation:
    """Writes through a fault (a region outage, a database failover): how soon they are
    acknowledged again, and whether every write acknowledged is in the database afterwards.

    A request on `endpoint` answered 200 and not marked degraded is an acknowledged write, known
    by its request id; the database is read back after the run (keys `key_prefix` + id) from
    the primary its Sentinels name (`sentinels`, HOST:PORT; default: the lab's)."""

    fault: str  # the fault kind whose windows make the period, e.g. "region_outage"
    endpoint: str
    rto_s: float | None = None  # the first write acknowledged after the fault began, within
    lost_max: int | None = 0  # acknowledged writes missing afterwards; null: not checked
    key_prefix: str = "play:"
    sentinels: tuple[str, ...] = ()
    master: str = "lab"

    def invalid_fields(self) -> list[tuple[str, str]]:
        problems = []
        if not self.endpoint.startswith("/"):
            problems.append(
                ("endpoint", f"expected a path starting with '/', got {self.endpoint!r}")
            )
        for address in self.sentinels:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit():
                problems.append(("sentinels", f"expected HOST:PORT entries, got {address!r}"))
        if self.rto_s is None and self.lost_max is None:
            problems.append(("rto_s", "expected rto_s or lost_max (nothing would be checked)"))
        return problems


EXPECTATION_KINDS: dict[str, type] = {
    "circuit_breaker": BreakerExpectation,
    "bulkhead": BulkheadExpectation,
    "timeout": TimeoutExpectation,
    "degradation": DegradationExpectation,
    "writes": WritesExpectation,
}


@dataclass(frozen=True, slots=True)
class FaultPeriod:
    injected_at: float
    cleared_at: float | None
    windows: int


def fault_subject(
    observation: Observation, dependency: str
) -> tuple[DependencySnapshot, FaultPeriod] | str:
    """The dependency's snapshot and fault period, or why no check of it can be judged."""
    period = fault_period(observation, dependency)
    if period is None:
        return no_fault(dependency)
    snapshot = observation.dependencies.get(dependency)
    if snapshot is None:
        return no_snapshot(dependency)
    return snapshot, period


def no_fault(dependency: str) -> str:
    return f"a fault on {dependency} during the run (none took effect)"


def no_snapshot(dependency: str) -> str:
    return (
        f"what reached {dependency} and the service's account of it (the lab's /state); "
        "this target gives neither"
    )


def period_end(observation: Observation, period: FaultPeriod) -> float:
    """When the fault period ended: its clearing, or the end of the observation."""
    return period.cleared_at if period.cleared_at is not None else observation_end(observation)


def fault_period(observation: Observation, dependency: str) -> FaultPeriod | None:
    """The span of every fault on `dependency` (see the module doc), None when there is none."""
    return period_of([f for f in observation.faults if f.target == dependency])


def period_of(windows: Sequence[FaultWindow]) -> FaultPeriod | None:
    """The span of `windows` as one period (see the module doc), None when there is none."""
    if not windows:
        return None
    cleared = [f.cleared_at for f in windows]
    return FaultPeriod(
        injected_at=min(f.injected_at for f in windows),
        cleared_at=None if None in cleared else max(c for c in cleared if c is not None),
        windows=len(windows),
    )


def observation_end(observation: Observation) -> float:
    """The last moment the observation saw anything (0.0 for an empty observation)."""
    times: list[float] = [r.completed for r in observation.timeline]
    for fault in observation.faults:
        times.append(fault.injected_at)
        if fault.cleared_at is not None:
            times.append(fault.cleared_at)
    for snapshot in observation.dependencies.values():
        times.extend(t.at for t in snapshot.transitions)
        times.extend(a.at for a in snapshot.arrivals)
    return max(times, default=0.0)


def using(observation: Observation, dependency: str) -> tuple[str, ...]:
    """The endpoints that call `dependency`, sorted."""
    return tuple(sorted(p for p, deps in observation.endpoints_using.items() if dependency in deps))


def requests_in(
    records: Iterable[RequestRecord],
    endpoints: Iterable[str],
    windows: Sequence[tuple[float, float]],
) -> Iterator[RequestRecord]:
    """Requests on `endpoints` scheduled in any of the half-open windows [start, end)."""
    wanted = frozenset(endpoints)
    for r in records:
        if r.endpoint in wanted and any(a <= r.scheduled < b for a, b in windows):
            yield r


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile (0 < pct <= 100) of the exact values; None when there are none."""
    ordered = sorted(values)
    return nearest_rank(ordered, pct / 100.0) if ordered else None


def all_failed(names: Sequence[str], expected: Sequence[str], observed: str) -> list[Verdict]:
    """One failed verdict per property, all for the same reason."""
    return [Verdict(n, False, e, observed) for n, e in zip(names, expected, strict=True)]


def all_not_judged(names: Sequence[str], expected: Sequence[str], needs: str) -> list[Verdict]:
    """One not-judged verdict per property, all needing the same thing to be judged."""
    return [not_judged(n, e, needs) for n, e in zip(names, expected, strict=True)]


def n_of(count: int, noun: str) -> str:
    """3, "request" -> "3 requests"; 1, "request" -> "1 request"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def fmt_ms(value: float | None) -> str:
    """12.3456 -> "12.3 ms"; None -> "n/a"."""
    return "n/a" if value is None else f"{value:.1f} ms"


def fmt_s(value: float) -> str:
    """0.41234 -> "0.412 s"."""
    return f"{value:.3f} s"
