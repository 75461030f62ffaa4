"""What a running scenario looks like right now, read from its run directory: the SLIs of the
last seconds (from the load's timeline), each second's figures for a chart, and the faults in
place (from the undo log: injected and not yet reverted). Read-only; safe while the run writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chaosrun.engine import undo
from chaosrun.engine.loadproc import TIMELINE_FILE
from chaosrun.measure.percentile import nearest_rank
from chaosrun.measure.timeline import RequestRecord, read_timeline

__all__ = ["Snapshot", "snapshot", "summarise"]

_RECENT_S = 5.0
_SERIES_S = 90.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    requests: int  # in the last few seconds
    availability: float | None
    p50_ms: float | None
    p99_ms: float | None
    degraded: float | None  # share answered by a fallback
    faults: tuple[str, ...]  # "latency on catalog", in place now
    faults_seen: int  # injected so far, reverted or not
    series: tuple[tuple[float, float | None, float | None], ...]  # (second, availability, p99)

    def to_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "availability": self.availability,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "degraded": self.degraded,
            "faults": list(self.faults),
            "faults_seen": self.faults_seen,
            "series": [list(point) for point in self.series],
        }


EMPTY = Snapshot(0, None, None, None, None, (), 0, ())


def summarise(
    records: list[RequestRecord], now: float
) -> tuple[int, float | None, float | None, float | None, float | None]:
    recent = [r for r in records if now - _RECENT_S <= r.scheduled <= now]
    if not recent:
        return 0, None, None, None, None
    latencies = sorted(r.latency_ms for r in recent)
    ok = [r for r in recent if r.ok]
    return (
        len(recent),
        len(ok) / len(recent),
        nearest_rank(latencies, 0.5),
        nearest_rank(latencies, 0.99),
        sum(1 for r in ok if r.degraded) / len(recent),
    )


def _series(
    records: list[RequestRecord], now: float
) -> tuple[tuple[float, float | None, float | None], ...]:
    by_second: dict[int, list[RequestRecord]] = {}
    for record in records:
        if now - _SERIES_S <= record.scheduled <= now:
            by_second.setdefault(int(record.scheduled), []).append(record)
    points = []
    for second in sorted(by_second):
        members = by_second[second]
        latencies = sorted(r.latency_ms for r in members)
        availability = sum(1 for r in members if r.ok) / len(members)
        points.append(
            (float(second), round(availability, 4), round(nearest_rank(latencies, 0.99), 1))
        )
    return tuple(points)


def snapshot(run_dir: Path | None, now: float) -> Snapshot:
    if run_dir is None:
        return EMPTY
    timeline = run_dir / TIMELINE_FILE
    records = read_timeline(timeline) if timeline.exists() else []
    count, availability, p50, p99, degraded = summarise(records, now)
    windows = undo.fault_windows(run_dir / "undo.log")
    active = tuple(
        f"{w.kind} on {w.target}" for w in windows if w.cleared_at is None or w.cleared_at > now
    )
    return Snapshot(
        count, availability, p50, p99, degraded, active, len(windows), _series(records, now)
    )
