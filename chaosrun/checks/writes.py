"""Verdicts on writes through a fault, from the client's timeline and the database read back.

A write is a request on the expectation's endpoint; it is *acknowledged* when it was answered
200 and not marked degraded (the service said it kept it). The fault period is the span of
every window of the expectation's fault kind.

- ``writes.rto``: the last write scheduled during the period that was not acknowledged, and the
  first acknowledged one after it: the time from the fault's start to that acknowledgement
  (its answer's arrival) is the write RTO. No unacknowledged write during the period: 0.
- ``writes.lost``: every acknowledged write of the run (before, during and after the fault)
  is looked up in the database read back after the run; those missing are lost. Judged only
  when the database could be read and some write was acknowledged.

`writes_report` gives the same figures, with every lost request id, for the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaosrun.checks.expectations import (
    FaultPeriod,
    WritesExpectation,
    fmt_s,
    n_of,
    period_end,
    period_of,
)
from chaosrun.checks.observation import Observation, Verdict, not_judged
from chaosrun.measure.timeline import RequestRecord

__all__ = ["WriteFigures", "check_writes", "write_figures", "writes_report"]

SHOWN_IDS = 10


def acknowledged(record: RequestRecord) -> bool:
    return record.status == 200 and not record.degraded and record.error == ""


@dataclass(frozen=True, slots=True)
class WriteFigures:
    period: FaultPeriod
    writes: int  # writes scheduled during the period
    unacknowledged: int  # of those
    rto_s: float | None  # None: not acknowledged again by the end of the observation
    first_failed_at: float | None
    acknowledged_ids: tuple[str, ...]  # every acknowledged write of the run, in schedule order
    during_ids: frozenset[str]  # of those, the ones scheduled during the period
    lost: tuple[str, ...] | None  # None: the database was not read


def write_figures(observation: Observation, expectation: WritesExpectation) -> WriteFigures | None:
    """The figures both verdicts rest on; None when no fault of the kind took effect."""
    period = period_of([f for f in observation.faults if f.kind == expectation.fault])
    if period is None:
        return None
    writes = [r for r in observation.timeline if r.endpoint == expectation.endpoint]
    end = period_end(observation, period)
    during = [r for r in writes if period.injected_at <= r.scheduled < end]
    failed = [r for r in during if not acknowledged(r)]
    rto: float | None = 0.0
    if failed:
        last = failed[-1].scheduled
        again = next((r for r in writes if r.scheduled > last and acknowledged(r)), None)
        rto = (
            None
            if again is None
            else again.scheduled + again.latency_ms / 1000 - period.injected_at
        )
    acked = tuple(r.request_id for r in writes if acknowledged(r) and r.request_id)
    during_acked = frozenset(r.request_id for r in during if acknowledged(r) and r.request_id)
    lost = None
    if observation.stored is not None and observation.stored.problem is None:
        lost = tuple(i for i in acked if i not in observation.stored.ids)
    return WriteFigures(
        period,
        len(during),
        len(failed),
        rto,
        failed[0].scheduled if failed else None,
        acked,
        during_acked,
        lost,
    )


def check_writes(observation: Observation, expectation: WritesExpectation) -> list[Verdict]:
    figures = write_figures(observation, expectation)
    verdicts: list[Verdict] = []
    if expectation.rto_s is not None:
        verdicts.append(_rto(figures, expectation, expectation.rto_s))
    if expectation.lost_max is not None:
        verdicts.append(_lost(figures, observation, expectation, expectation.lost_max))
    return verdicts


def _rto(figures: WriteFigures | None, expectation: WritesExpectation, objective: float) -> Verdict:
    expected = f"writes on {expectation.endpoint} acknowledged again within {fmt_s(objective)}"
    if figures is None:
        return not_judged("writes.rto", expected, f"a {expectation.fault} fault during the run")
    if figures.writes == 0:
        return not_judged("writes.rto", expected, f"writes on {expectation.endpoint} during it")
    if figures.unacknowledged == 0:
        observed = f"all {n_of(figures.writes, 'write')} during the fault acknowledged"
        return Verdict("writes.rto", True, expected, observed)
    assert figures.first_failed_at is not None
    first = figures.first_failed_at - figures.period.injected_at
    unacked = f"{figures.unacknowledged} of {n_of(figures.writes, 'write')} unacknowledged"
    if figures.rto_s is None:
        observed = (
            f"not acknowledged again by the end of the run ({unacked}, first at +{first:.3f} s)"
        )
        return Verdict("writes.rto", False, expected, observed)
    observed = f"write RTO {fmt_s(figures.rto_s)} ({unacked}, first at +{first:.3f} s)"
    return Verdict("writes.rto", figures.rto_s <= objective, expected, observed)


def _lost(
    figures: WriteFigures | None,
    observation: Observation,
    expectation: WritesExpectation,
    lost_max: int,
) -> Verdict:
    expected = f"at most {n_of(lost_max, 'acknowledged write')} missing from the database"
    if figures is None:
        return not_judged("writes.lost", expected, f"a {expectation.fault} fault during the run")
    stored = observation.stored
    if stored is None or stored.problem is not None or figures.lost is None:
        why = stored.problem if stored is not None and stored.problem else "not read"
        return not_judged("writes.lost", expected, f"the database read back after the run ({why})")
    if not figures.acknowledged_ids:
        return not_judged(
            "writes.lost", expected, f"an acknowledged write on {expectation.endpoint}"
        )
    lost = figures.lost
    during = sum(1 for i in lost if i in figures.during_ids)
    acked = n_of(len(figures.acknowledged_ids), "acknowledged write")
    observed = (
        f"{len(lost)} of {acked} ({len(figures.during_ids)} during the fault) missing from "
        f"the {stored.source}"
    )
    if lost:
        observed += f"; {during} of them acknowledged during the fault"
    if lost:
        shown = ", ".join(lost[:SHOWN_IDS])
        more = f" and {len(lost) - SHOWN_IDS} more (journal)" if len(lost) > SHOWN_IDS else ""
        observed += f": {shown}{more}"
    return Verdict("writes.lost", len(lost) <= lost_max, expected, observed)


def writes_report(observation: Observation, expectations: Sequence[object]) -> list[dict[str, Any]]:
    """Per writes expectation: the figures, every lost request id included (the journal's)."""
    reports = []
    for expectation in expectations:
        if not isinstance(expectation, WritesExpectation):
            continue
        figures = write_figures(observation, expectation)
        stored = observation.stored
        reports.append(
            {
                "endpoint": expectation.endpoint,
                "fault": expectation.fault,
                "writes_during_fault": None if figures is None else figures.writes,
                "unacknowledged_during_fault": None if figures is None else figures.unacknowledged,
                "rto_s": None if figures is None else figures.rto_s,
                "acknowledged": None if figures is None else len(figures.acknowledged_ids),
                "stored": None if stored is None or stored.problem else len(stored.ids),
                "database": None if stored is None else stored.source,
                "read_problem": None if stored is None else stored.problem,
                "lost": None if figures is None or figures.lost is None else list(figures.lost),
            }
        )
    return reports
