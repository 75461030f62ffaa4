"""What a recording relay saw, per route (dependency), from its JSON lines (pure, no I/O).

- every HTTP exchange not marked as chaosrun's own (`control`) is an `Arrival` at its start,
  failed when answered >= 500 or not answered at all;
- `max_in_flight`: the most exchanges open at once (start -> end of the answer; one with no
  answer counts until its connection closed, else until the last thing recorded);
- `connections`: connections opened through the route (HTTP or not).

Lines that do not parse, or lack a route, are skipped: a relay killed mid-write leaves a torn
last line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from chaosrun.checks.observation import Arrival

__all__ = ["RouteRecord", "read_recording"]


@dataclass(frozen=True, slots=True)
class RouteRecord:
    arrivals: tuple[Arrival, ...]
    max_in_flight: int
    connections: int


def read_recording(lines: Iterable[str]) -> dict[str, RouteRecord]:
    arrivals: dict[str, list[Arrival]] = defaultdict(list)
    connections: dict[str, int] = defaultdict(int)
    closed: dict[tuple[str, int], float] = {}
    unanswered: dict[str, list[tuple[float, int]]] = defaultdict(list)
    last = 0.0
    for line in lines:
        record = _parse(line)
        if record is None:
            continue
        route = str(record["route"])
        at = _number(record.get("at"))
        if at is not None:
            last = max(last, at)
        if "open" in record:
            connections[route] += 1
            continue
        number = record.get("close")
        if isinstance(number, int) and at is not None:
            closed[(route, number)] = at
            continue
        started = _number(record.get("started"))
        if started is None or record.get("control") is True:
            continue
        ended = _number(record.get("ended"))
        status = record.get("status")
        last = max(last, started, ended or 0.0)
        request_id, attempt = record.get("request_id"), record.get("attempt")
        arrivals[route].append(
            Arrival(
                at=started,
                path=str(record.get("path", "")),
                failed=not isinstance(status, int) or status >= 500,
                request_id=request_id if isinstance(request_id, str) else None,
                attempt=attempt if isinstance(attempt, int) and attempt > 0 else None,
                ended=ended,
            )
        )
        if ended is None:
            connection = record.get("connection")
            unanswered[route].append((started, connection if isinstance(connection, int) else -1))
    result = {}
    for route in set(arrivals) | set(connections):
        found = sorted(arrivals[route], key=lambda a: a.at)
        spans = [(a.at, a.ended) for a in found if a.ended is not None]
        spans += [(s, closed.get((route, c), last)) for s, c in unanswered[route]]
        result[route] = RouteRecord(tuple(found), _peak(spans), connections[route])
    return result


def _peak(spans: list[tuple[float, float]]) -> int:
    # An answer that ends exactly when another request starts frees its slot first.
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def _parse(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("route"), str):
        return None
    return record


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
