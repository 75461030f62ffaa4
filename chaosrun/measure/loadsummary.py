"""The summary the load process writes at the end of a run (`chaosrun.measure.loadspec` format).

`run_summary` hands a finished run's counts and scheduler lags to the pure
`chaosrun.measure.loadspec.summarize`, with what the run covered: a run that went to its end
covered its whole plan (and its duration, or longer when the scheduler sent its backlog late); a
run stopped by a signal covered the slots that fell due before it stopped.

- The summary records the niceness in effect (``--nice`` asks for one, best effort).
- The summary also says how long the scheduling thread ran (`cpu_run_ms`) and how long it was
  runnable but waiting for a CPU (`cpu_wait_ms`, Linux schedstat) while it scheduled: a run short
  on lag with a large `cpu_wait_ms` was starved by its host, not slow on its own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chaosrun.measure.loadspec import LoadSummary, summarize

if TYPE_CHECKING:
    from chaosrun.measure.loadrun import OpenLoopRun

__all__ = ["cpu_schedstat", "run_summary"]


def cpu_schedstat() -> tuple[float, float] | None:
    """(ms on a CPU, ms runnable but waiting for one) of this thread so far; None off Linux."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as handle:
            run_ns, wait_ns, _ = handle.read().split()
        return int(run_ns) / 1e6, int(wait_ns) / 1e6
    except (OSError, ValueError):
        return None


def run_summary(run: OpenLoopRun, end_mono: float) -> LoadSummary:
    """The summary of `run`, whose scheduling stopped at `end_mono` (perf_counter seconds)."""
    plan = run.plan
    if run.stopped_by == "signal":
        elapsed = max(0.0, end_mono - run.start_mono)
        due = int(elapsed * plan.rate) + 1 if end_mono >= run.start_mono else 0
        scheduled = min(plan.count, due)
    else:
        elapsed = max(plan.duration_s, run.last_send_mono - run.start_mono)
        scheduled = plan.count
    return summarize(
        plan,
        start=round(run.wall(run.start_mono), 6),
        elapsed_s=elapsed,
        stopped_by=run.stopped_by,
        scheduled=scheduled,
        lags_ms=run.lags_ms,
        completed=run.completed,
        ok=run.ok,
        degraded=run.degraded,
        unfinished=run.unfinished,
        errors=run.errors,
        statuses=run.statuses,
        sent_by_endpoint=run.sent_by_endpoint,
        reached=run.reached,
        timeline=run.timeline_name,
        extra={
            "base_url": run.base_url,
            "seed": plan.seed,
            "timeout_s": plan.timeout_s,
            "loop": run.loop_name,
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "cpu_run_ms": run.cpu_run_ms,
            "cpu_wait_ms": run.cpu_wait_ms,
        },
    )
