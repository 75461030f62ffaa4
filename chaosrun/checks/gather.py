"""Assemble an `Observation` from what a run recorded: the timeline, the fault windows, what
reached each dependency (the recording relay's routes, else the lab dependency's ``GET /_stats``)
and the service's own account (the lab gateway's ``GET /state``).

Pure apart from parsing: no I/O, no clock. Malformed entries are skipped, never guessed:

- one `DependencySnapshot` per dependency that was recorded or that the service gave an account
  of (`has_account`); its far side (arrivals, max in flight) comes from the recording when one
  was made for it, else from ``dependency_stats[name]``, else it is empty (`recorded` False);
- breaker transitions ``{"at", "from", "to"}`` (epoch s); a breaker account sampled from the
  service's metrics (`breaker_accounts`: dependency -> (transitions, metric selector)) replaces
  the one from ``/state`` for that dependency; arrivals ``{"wall", "path", "failed",
  "request_id", "attempt"}`` with ``wall`` as the arrival time (epoch s);
- `endpoints_using` (path -> dependencies) defaults to the gateway state's ``"endpoints"``;
- a run judges only what happened during it: with `since` (when the run's measurement began),
  breaker transitions and arrivals before it are dropped, and with `baseline_state` (the gateway
  state read at that moment) the gateway's cumulative counters (retries, timeouts, bulkhead
  rejections) count only what was added during the run. A long-lived lab carries earlier runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from chaosrun.checks.observation import (
    Arrival,
    BreakerTransition,
    DependencySnapshot,
    FaultWindow,
    Observation,
    StoredWrites,
)
from chaosrun.measure.timeline import RequestRecord
from chaosrun.record.read import RouteRecord

__all__ = ["build_observation", "parse_arrivals", "parse_snapshot"]


def build_observation(
    timeline: Iterable[RequestRecord],
    faults: Iterable[FaultWindow],
    gateway_state: Mapping[str, Any],
    dependency_stats: Mapping[str, Mapping[str, Any]],
    endpoints_using: Mapping[str, Sequence[str]] | None = None,
    since: float | None = None,
    baseline_state: Mapping[str, Any] | None = None,
    recorded: Mapping[str, RouteRecord] | None = None,
    breaker_accounts: Mapping[str, tuple[tuple[BreakerTransition, ...], str]] | None = None,
    stored: StoredWrites | None = None,
) -> Observation:
    deps = _mapping(gateway_state.get("dependencies"))
    baseline = _mapping((baseline_state or {}).get("dependencies"))
    recorded = recorded or {}
    snapshots: dict[str, DependencySnapshot] = {}
    names = [n for n in deps if isinstance(n, str) and isinstance(deps[n], Mapping)]
    accounts = breaker_accounts or {}
    names += [n for n in [*recorded, *accounts] if n not in names]
    for name in names:
        state = deps.get(name)
        snapshot = parse_snapshot(
            name, state if isinstance(state, Mapping) else {}, dependency_stats.get(name)
        )
        if not isinstance(state, Mapping):
            snapshot = replace(snapshot, has_account=False)
        before = baseline.get(name)
        if isinstance(before, Mapping):
            snapshot = _minus(snapshot, parse_snapshot(name, before, None))
        route = recorded.get(name)
        if route is not None:
            snapshot = replace(
                snapshot,
                arrivals=route.arrivals,
                far_side_max_in_flight=route.max_in_flight,
                recorded=True,
            )
        if name in accounts:
            transitions, source = accounts[name]
            snapshot = replace(
                snapshot,
                has_account=True,
                breaker_enabled=True,
                transitions=transitions,
                account_source=source,
            )
        if since is not None:
            snapshot = _since(snapshot, since)
        snapshots[name] = snapshot
    if endpoints_using is None:
        declared = gateway_state.get("endpoints")
        endpoints_using = declared if isinstance(declared, Mapping) else {}
    uses = {
        str(path): tuple(str(d) for d in deps_)
        for path, deps_ in endpoints_using.items()
        if isinstance(deps_, list | tuple)
    }
    return Observation(
        timeline=tuple(sorted(timeline, key=lambda r: r.scheduled)),
        faults=tuple(sorted(faults, key=lambda f: f.injected_at)),
        dependencies=snapshots,
        endpoints_using=uses,
        stored=stored,
    )


def parse_snapshot(
    name: str, state: Mapping[str, Any], stats: Mapping[str, Any] | None
) -> DependencySnapshot:
    """One dependency from the gateway's view of it and (if read) its own counters."""
    breaker = _mapping(state.get("breaker"))
    bulkhead = _mapping(state.get("bulkhead"))
    transitions = []
    for t in _list(breaker.get("transitions")):
        if isinstance(t, Mapping) and _number(t.get("at")) is not None:
            frm, to = t.get("from"), t.get("to")
            if isinstance(frm, str) and isinstance(to, str):
                transitions.append(BreakerTransition(float(t["at"]), frm, to))
    limit = bulkhead.get("limit")
    return DependencySnapshot(
        name=name,
        breaker_enabled=breaker.get("enabled") is True,
        transitions=tuple(sorted(transitions, key=lambda t: t.at)),
        bulkhead_limit=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
        bulkhead_rejected=_int(bulkhead.get("rejected")),
        gateway_max_in_flight=_int(bulkhead.get("max_in_flight")),
        far_side_max_in_flight=_int(stats.get("max_in_flight")) if stats else 0,
        arrivals=parse_arrivals(stats.get("arrivals")) if stats else (),
        retries=_int(state.get("retries")),
        timeouts=_int(state.get("timeouts")),
        recorded=stats is not None,
    )


def _since(snapshot: DependencySnapshot, since: float) -> DependencySnapshot:
    return replace(
        snapshot,
        transitions=tuple(t for t in snapshot.transitions if t.at >= since),
        arrivals=tuple(a for a in snapshot.arrivals if a.at >= since),
    )


def _minus(snapshot: DependencySnapshot, before: DependencySnapshot) -> DependencySnapshot:
    """Cumulative counters less their value when the run began (never below zero)."""
    return replace(
        snapshot,
        bulkhead_rejected=max(0, snapshot.bulkhead_rejected - before.bulkhead_rejected),
        retries=max(0, snapshot.retries - before.retries),
        timeouts=max(0, snapshot.timeouts - before.timeouts),
    )


def parse_arrivals(raw: object) -> tuple[Arrival, ...]:
    """The far side's arrivals (``/_stats`` "arrivals"), in arrival order."""
    arrivals = []
    for a in _list(raw):
        if not isinstance(a, Mapping) or _number(a.get("wall")) is None:
            continue
        request_id = a.get("request_id")
        attempt = a.get("attempt")
        arrivals.append(
            Arrival(
                at=float(a["wall"]),
                path=str(a.get("path", "")),
                failed=a.get("failed") is True,
                request_id=request_id if isinstance(request_id, str) else None,
                attempt=attempt
                if isinstance(attempt, int) and not isinstance(attempt, bool)
                else None,
            )
        )
    arrivals.sort(key=lambda a: a.at)
    return tuple(arrivals)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
