"""The open-loop load schedule: a pure function of time (wrk2 model, locust's load shape).

Request `i` of a plan is due at offset ``i / rate`` seconds from the start (constant arrival rate),
for every `i` with ``i / rate < duration_s``; its endpoint is drawn from the weighted mix with
``random.Random(seed)``, so one seed always gives the same sequence. Nothing here reads a clock
or does I/O: the load process only walks the plan.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["LoadPlan", "arrival_offsets", "endpoint_sequence", "plan_requests"]

# Endpoints are drawn this many at a time (the same sequence as one draw at a time).
_DRAW_CHUNK = 4096
# Paths are written into the CSV timeline unquoted: none of these may appear in one.
_FORBIDDEN_IN_PATH = frozenset(',"\r\n\t ')


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What the load process sends: `rate` req/s for `duration_s`, endpoints mixed by weight."""

    rate: float
    duration_s: float
    endpoints: tuple[tuple[str, float], ...]
    seed: int
    timeout_s: float = 2.0

    def __post_init__(self) -> None:
        _check_positive("rate", self.rate, "req/s")
        _check_positive("duration_s", self.duration_s, "s")
        _check_positive("timeout_s", self.timeout_s, "s")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        _check_endpoints(self.endpoints)

    @property
    def count(self) -> int:
        """How many requests the plan schedules: every `i` with ``i / rate < duration_s``."""
        return _count(self.rate, self.duration_s)


def arrival_offsets(rate: float, count: int) -> list[float]:
    """Offsets in seconds from the start of the first `count` requests at `rate` req/s."""
    _check_positive("rate", rate, "req/s")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return [i / rate for i in range(count)]


def endpoint_sequence(endpoints: Sequence[tuple[str, float]], seed: int, count: int) -> list[str]:
    """The first `count` endpoints drawn by weight; the same list for the same seed."""
    _check_endpoints(endpoints)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return list(itertools.islice(_endpoint_stream(endpoints, seed), count))


def plan_requests(plan: LoadPlan) -> Iterator[tuple[float, str]]:
    """(offset_s, path) of every request of the plan, lazily, in schedule order."""
    rate = plan.rate
    paths = _endpoint_stream(plan.endpoints, plan.seed)
    for i, path in zip(range(plan.count), paths, strict=False):
        yield i / rate, path


def _endpoint_stream(endpoints: Sequence[tuple[str, float]], seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    paths = [path for path, _ in endpoints]
    cum_weights = list(itertools.accumulate(weight for _, weight in endpoints))
    while True:
        # One random() per draw whatever k is, so chunking does not change the sequence.
        yield from rng.choices(paths, cum_weights=cum_weights, k=_DRAW_CHUNK)


def _count(rate: float, duration_s: float) -> int:
    exact = rate * duration_s
    nearest = round(exact)
    if math.isclose(exact, nearest, rel_tol=1e-12, abs_tol=1e-9):
        return int(nearest)  # i / rate < duration_s for i < rate * duration_s exactly
    return math.ceil(exact)


def _check_positive(name: str, value: float, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of {unit} > 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number of {unit} > 0, got {value!r}")


def _check_endpoints(endpoints: Sequence[tuple[str, float]]) -> None:
    if not endpoints:
        raise ValueError("endpoints must name at least one (path, weight)")
    seen: set[str] = set()
    for path, weight in endpoints:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"endpoint path must start with '/', got {path!r}")
        if _FORBIDDEN_IN_PATH & set(path):
            raise ValueError(
                f"endpoint path must not contain commas, quotes or whitespace, got {path!r}"
            )
        if path in seen:
            raise ValueError(f"endpoint {path} is listed twice")
        seen.add(path)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"weight of {path} must be a number > 0, got {weight!r}")
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"weight of {path} must be a finite number > 0, got {weight!r}")
