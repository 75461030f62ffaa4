"""Service-level indicators over the run's timeline: window statistics, trailing-window SLO, impact.

Pure functions (no I/O, no clocks). Every time is a request's *scheduled* wall-clock epoch
second; a request belongs to a window by its scheduled time.

- `window_stats`: requests scheduled in [start, end). Latency percentiles come from an HDR
  histogram (1 µs .. 60 s, 3 significant digits) of the *successful* requests (failures are
  counted in `availability`, not in latency); each value is the upper end of its histogram bucket,
  at most 0.1 % above the exact nearest-rank value; latencies above 60 s are recorded as 60 s.
- `slo_series`: the SLO over the trailing window (t - window_s, t] at every scheduled time t.
  "pXX <= L ms" holds for n requests iff at most (1 - XX/100) * n of them are slower than L
  (nearest-rank percentile); failed requests count as slower than every threshold. So the SLO is
  decided from counts with prefix sums and bisect, exactly (integer arithmetic), in O(n log n).
- `impact_window`: per request, from the first bad one to the first good one after the last bad.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from chaosrun.measure.timeline import RequestRecord
from chaosrun.model import PERCENTILE_LEVELS, Slo

__all__ = [
    "HISTOGRAM_DIGITS",
    "HISTOGRAM_RANGE_US",
    "Impact",
    "LatencyObjective",
    "Objective",
    "SloPoint",
    "SloSpec",
    "WindowStats",
    "impact_window",
    "slo_series",
    "window_stats",
]

HISTOGRAM_RANGE_US = (1, 60_000_000)  # 1 µs .. 60 s
HISTOGRAM_DIGITS = 3
_PERCENTILES = tuple(PERCENTILE_LEVELS.items())


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Requests scheduled in [start, end). Latencies (ms) are over the successful requests only."""

    start: float
    end: float
    count: int
    ok: int
    errors: int  # count - ok
    degraded: int  # answered by a fallback (these are ok)
    availability: float | None  # ok / count; None for an empty window
    rate_per_s: float  # achieved: count / (end - start)
    max_lag_ms: float | None  # scheduler lag: sent - scheduled
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "duration_s": round(self.end - self.start, 3),
            "requests": self.count,
            "ok": self.ok,
            "errors": self.errors,
            "degraded": self.degraded,
            "availability": None if self.availability is None else round(self.availability, 6),
            "rate_per_s": round(self.rate_per_s, 3),
            "max_lag_ms": _round(self.max_lag_ms),
            "latency_ms": {
                "p50": _round(self.p50_ms),
                "p90": _round(self.p90_ms),
                "p95": _round(self.p95_ms),
                "p99": _round(self.p99_ms),
                "p999": _round(self.p999_ms),
                "max": _round(self.max_ms),
            },
        }


def window_stats(records: Iterable[RequestRecord], start: float, end: float) -> WindowStats:
    low, high = HISTOGRAM_RANGE_US
    histogram = HdrHistogram(low, high, HISTOGRAM_DIGITS)
    count = ok = degraded = 0
    max_lag: float | None = None
    for r in records:
        if not start <= r.scheduled < end:
            continue
        count += 1
        degraded += r.degraded
        max_lag = r.lag_ms if max_lag is None else max(max_lag, r.lag_ms)
        if r.ok:
            ok += 1
            histogram.record_value(min(max(round(r.latency_ms * 1000.0), 0), high))
    values: dict[str, float | None] = {name: None for name, _ in _PERCENTILES}
    max_ms: float | None = None
    if ok:
        by_pct = histogram.get_percentile_to_value_dict([pct for _, pct in _PERCENTILES])
        values = {name: int(by_pct[pct]) / 1000.0 for name, pct in _PERCENTILES}
        max_ms = int(histogram.get_max_value()) / 1000.0
    duration = end - start
    return WindowStats(
        start=start,
        end=end,
        count=count,
        ok=ok,
        errors=count - ok,
        degraded=degraded,
        availability=ok / count if count else None,
        rate_per_s=count / duration if duration > 0 else 0.0,
        max_lag_ms=max_lag,
        p50_ms=values["p50"],
        p90_ms=values["p90"],
        p95_ms=values["p95"],
        p99_ms=values["p99"],
        p999_ms=values["p999"],
        max_ms=max_ms,
    )


@dataclass(frozen=True, slots=True)
class LatencyObjective:
    """`name <= limit_ms`: at most `allowed_over` of a window's requests slower than the limit."""

    name: str  # "p99"
    limit_ms: float
    allowed_over: Fraction  # 1 - XX/100, exact (p999 -> 1/1000)

    @classmethod
    def parse(cls, name: str, limit_ms: float) -> LatencyObjective:
        digits = name[1:]
        if not name.startswith("p") or not digits.isdigit() or limit_ms <= 0:
            raise ValueError(f"invalid latency objective {name} <= {limit_ms} ms")
        scale = 100 if len(digits) <= 2 else 10 ** len(digits)  # p99 -> 99/100, p999 -> 999/1000
        quantile = Fraction(int(digits), scale)
        if not 0 < quantile < 1:
            raise ValueError(f"invalid latency objective {name} <= {limit_ms} ms")
        return cls(name, float(limit_ms), 1 - quantile)


@dataclass(frozen=True, slots=True)
class SloSpec:
    """The SLO as evaluated over a trailing window of `window_s` seconds.

    `max_degraded` bounds the fraction of a window's requests answered by a fallback
    (degraded answers are ok for availability, but they are impact).
    """

    availability: float | None  # floor on ok / count, in (0, 1]
    latency: tuple[LatencyObjective, ...] = ()
    window_s: float = 1.0
    min_requests: int = 10  # fewer requests in the window: not enough data (met=None)
    max_degraded: float | None = None  # ceiling on degraded / count, in [0, 1)

    def __post_init__(self) -> None:
        if self.availability is None and not self.latency and self.max_degraded is None:
            raise ValueError(
                "an SLO needs an availability floor, a latency objective or a degraded ceiling"
            )
        if self.availability is not None and not 0 < self.availability <= 1:
            raise ValueError(f"availability must be in (0, 1], got {self.availability}")
        if self.max_degraded is not None and not 0 <= self.max_degraded < 1:
            raise ValueError(f"max_degraded must be in [0, 1), got {self.max_degraded}")
        if self.window_s <= 0 or self.min_requests < 1:
            raise ValueError("window_s must be > 0 and min_requests >= 1")

    @classmethod
    def from_slo(
        cls, slo: Slo, *, window_s: float | None = None, min_requests: int = 10
    ) -> SloSpec:
        """`window_s` defaults to the Slo's own trailing window."""
        latency = tuple(LatencyObjective.parse(name, limit) for name, limit in slo.latency_ms)
        window = slo.window_s if window_s is None else window_s
        return cls(slo.availability, latency, window, min_requests, slo.max_degraded)

    @property
    def strictest_ms(self) -> float | None:
        """The lowest declared latency limit: a single request slower than it is "bad"."""
        return min((o.limit_ms for o in self.latency), default=None)

    def objectives(self) -> tuple[Objective, ...]:
        """Every objective as "at most `allowed` of a window's requests are bad for it"."""
        found: list[Objective] = []
        if self.availability is not None:
            floor = Fraction(self.availability).limit_denominator(1_000_000_000)
            found.append(Objective("availability", 1 - floor, _failed))
        for o in self.latency:
            found.append(Objective(o.name, o.allowed_over, _slower_than(o.limit_ms)))
        if self.max_degraded is not None:
            ceiling = Fraction(self.max_degraded).limit_denominator(1_000_000_000)
            found.append(Objective("degraded", ceiling, _degraded))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective of an SLO: a window breaks it when more than `allowed` of it is bad."""

    name: str  # "availability", "p99", "degraded"
    allowed: Fraction
    is_bad: Callable[[RequestRecord], bool]

    def broken(self, bad: int, n: int) -> bool:
        """bad / n > allowed, exactly."""
        return bad * self.allowed.denominator > self.allowed.numerator * n


def _failed(r: RequestRecord) -> bool:
    return not r.ok


def _slower_than(limit_ms: float) -> Callable[[RequestRecord], bool]:
    def slower(r: RequestRecord) -> bool:
        return not r.ok or r.latency_ms > limit_ms  # a failure is slower than every limit

    return slower


def _degraded(r: RequestRecord) -> bool:
    return r.ok and r.degraded


@dataclass(frozen=True, slots=True)
class SloPoint:
    """The SLO over (t - window_s, t]. `met` is None when the window holds too few requests."""

    t: float
    met: bool | None
    count: int
    availability: float
    over: tuple[tuple[str, float], ...]  # (latency objective name, fraction slower than it)
    broken: tuple[str, ...] = ()  # names of the objectives this window breaks (when judged)


def slo_series(records: Iterable[RequestRecord], slo: SloSpec) -> list[SloPoint]:
    """One point per distinct scheduled time, in time order."""
    ordered = sorted(records, key=_scheduled)
    times = [r.scheduled for r in ordered]
    objectives = slo.objectives()
    bad_sums = [_prefix(o.is_bad(r) for r in ordered) for o in objectives]
    failed = _prefix(not r.ok for r in ordered)
    latency_names = {o.name for o in slo.latency}
    points: list[SloPoint] = []
    for i, t in enumerate(times):
        if i + 1 < len(times) and times[i + 1] == t:
            continue  # one point per time: the window ends after the last request at t
        right = i + 1
        left = bisect_right(times, t - slo.window_s, 0, right)
        n = right - left
        bad = [s[right] - s[left] for s in bad_sums]
        met: bool | None = None
        broken: tuple[str, ...] = ()
        if n >= slo.min_requests:
            broken = tuple(o.name for o, k in zip(objectives, bad, strict=True) if o.broken(k, n))
            met = not broken
        over = tuple(
            (o.name, k / n) for o, k in zip(objectives, bad, strict=True) if o.name in latency_names
        )
        errors = failed[right] - failed[left]
        points.append(SloPoint(t, met, n, (n - errors) / n, over, broken))
    return points


@dataclass(frozen=True, slots=True)
class Impact:
    """Bad requests from `first_bad` to `ended`: the first good one after the last bad one."""

    first_bad: float
    ended: float | None  # None: still bad when the period ended
    bad: int  # bad requests in the period

    @property
    def duration_s(self) -> float | None:
        return None if self.ended is None else self.ended - self.first_bad


def impact_window(
    records: Sequence[RequestRecord],
    start: float,
    end: float,
    slow_ms: float | None = None,
    degraded_is_bad: bool = False,
) -> Impact | None:
    """Requests scheduled in [start, end); bad = not ok, or slower than `slow_ms` if given, or
    answered by a fallback if `degraded_is_bad`.

    The duration equals a true outage within one request interval when each request's failure is
    decided at the far side. None when no request of the period was bad.
    """
    ordered = sorted((r for r in records if start <= r.scheduled < end), key=_scheduled)
    bad = [
        not r.ok
        or (slow_ms is not None and r.latency_ms > slow_ms)
        or (degraded_is_bad and r.degraded)
        for r in ordered
    ]
    if not any(bad):
        return None
    first = bad.index(True)
    last = len(bad) - 1 - bad[::-1].index(True)
    ended = ordered[last + 1].scheduled if last + 1 < len(ordered) else None
    return Impact(ordered[first].scheduled, ended, sum(bad))


def _prefix(flags: Iterable[bool]) -> list[int]:
    sums = [0]
    for flag in flags:
        sums.append(sums[-1] + flag)
    return sums


def _scheduled(r: RequestRecord) -> float:
    return r.scheduled


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
