"""Time series a report draws, derived from a run's timeline and journal (pure).

Requests are binned by *scheduled* time (open loop: a stall shows in the bin it was meant to
be served in); latency percentiles are exact nearest-rank per bin, the error rate is failed
requests over all requests in the bin. Times are seconds relative to the first injection (the
run's `t_inject`), so every chart of a report shares one origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaosrun.measure.percentile import nearest_rank
from chaosrun.measure.timeline import RequestRecord

__all__ = ["Band", "Bins", "Marks", "bin_timeline", "breaker_bands", "marks_from_journal"]


@dataclass(frozen=True, slots=True)
class Bins:
    starts: tuple[float, ...]  # bin start, s relative to origin
    requests: tuple[int, ...]
    p50_ms: tuple[float | None, ...]
    p95_ms: tuple[float | None, ...]
    p99_ms: tuple[float | None, ...]
    error_pct: tuple[float | None, ...]
    degraded_pct: tuple[float | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Band:
    """One dependency's breaker as consecutive segments (start, end, state), relative s."""

    dependency: str
    segments: tuple[tuple[float, float, str], ...]


@dataclass(frozen=True, slots=True)
class Marks:
    origin: float  # epoch s of t_inject (or the first request when nothing was injected)
    end: float  # relative s of the timeline's end
    windows: tuple[tuple[float, float, str], ...]  # (start, end, label), relative s
    detect: float | None
    recover: float | None


def bin_timeline(records: Iterable[RequestRecord], origin: float, bin_s: float) -> Bins:
    if bin_s <= 0:
        raise ValueError("bin_s must be > 0")
    grouped: dict[int, list[RequestRecord]] = {}
    for record in records:
        grouped.setdefault(int((record.scheduled - origin) // bin_s), []).append(record)
    if not grouped:
        return Bins((), (), (), (), (), (), ())
    keys = range(min(grouped), max(grouped) + 1)
    starts, counts, p50, p95, p99, errors, degraded = [], [], [], [], [], [], []
    for key in keys:
        members = grouped.get(key, [])
        latencies = sorted(r.latency_ms for r in members)
        starts.append(round(key * bin_s, 6))
        counts.append(len(members))
        p50.append(nearest_rank(latencies, 0.50) if members else None)
        p95.append(nearest_rank(latencies, 0.95) if members else None)
        p99.append(nearest_rank(latencies, 0.99) if members else None)
        failed = sum(1 for r in members if not r.ok)
        errors.append(100.0 * failed / len(members) if members else None)
        fallbacks = sum(1 for r in members if r.ok and r.degraded)
        degraded.append(100.0 * fallbacks / len(members) if members else None)
    return Bins(
        tuple(starts),
        tuple(counts),
        tuple(p50),
        tuple(p95),
        tuple(p99),
        tuple(errors),
        tuple(degraded),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def marks_from_journal(
    chaosrun: Mapping[str, Any], first_request: float | None, last_request: float | None
) -> Marks:
    """Fault windows, detection and recovery from a journal's `chaosrun` section."""
    found = chaosrun.get("recovery")
    recovery: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    windows_in = [w for w in chaosrun.get("fault_windows") or () if isinstance(w, Mapping)]
    injected = [_number(w.get("injected_at")) for w in windows_in]
    origin = _number(recovery.get("t_inject")) or min(
        (t for t in injected if t is not None), default=first_request or 0.0
    )
    end_epoch = _number(recovery.get("t_end")) or last_request or origin
    windows = []
    for window, start in zip(windows_in, injected, strict=True):
        if start is None:
            continue
        cleared = _number(window.get("cleared_at"))
        stop = cleared if cleared is not None else end_epoch
        label = f"{window.get('kind')} on {window.get('target')}"
        windows.append((round(start - origin, 6), round(stop - origin, 6), label))

    def relative(key: str) -> float | None:
        value = _number(recovery.get(key))
        return None if value is None else round(value - origin, 6)

    return Marks(
        origin=origin,
        end=round(end_epoch - origin, 6),
        windows=tuple(windows),
        detect=relative("t_detect"),
        recover=relative("t_recover"),
    )


def breaker_bands(
    breakers: Mapping[str, Sequence[Mapping[str, Any]]], origin: float, start: float, end: float
) -> tuple[Band, ...]:
    """Each breaker's state from `start` to `end` (relative s): the state before its first
    transition is that transition's `from` (closed when it never moved)."""
    bands = []
    for name in sorted(breakers):
        moves = sorted(
            (
                (at - origin, str(t.get("from")), str(t.get("to")))
                for t in breakers[name]
                if isinstance(t, Mapping) and (at := _number(t.get("at"))) is not None
            ),
        )
        state = moves[0][1] if moves else "closed"
        segments: list[tuple[float, float, str]] = []
        cursor = start
        for at, _, to in moves:
            at = min(max(at, start), end)
            if at > cursor:
                segments.append((round(cursor, 6), round(at, 6), state))
            cursor, state = max(cursor, at), to
        if end > cursor:
            segments.append((round(cursor, 6), round(end, 6), state))
        bands.append(Band(name, tuple(segments)))
    return tuple(bands)
