"""Trends and regressions from the run history (pure).

A night is a UTC calendar day: nightly jobs run once a day, and a day's runs are summarised by
their medians. A figure regresses when it is worse than the median of the same experiment's
recent runs (the `window` before it, at least `min_runs` of them) by more than `margin` (a
fraction: 0.25 = 25 % worse) and by more than `floor_s` in absolute terms, so that 0.01 s
against 0.005 s on a noisy machine is not a regression.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chaosrun.history.store import HistoryRow

__all__ = ["Night", "RegressionPolicy", "nightly", "regressions"]

_FIGURES = (("rto_s", "RTO"), ("ttd_s", "TTD"), ("budget_burned", "error budget burned"))


@dataclass(frozen=True, slots=True)
class Night:
    day: str  # YYYY-MM-DD (UTC)
    runs: int
    passed: int
    rto_s: float | None  # medians of the runs that measured it
    ttd_s: float | None
    budget_burned: float | None


@dataclass(frozen=True, slots=True)
class RegressionPolicy:
    margin: float = 0.25
    window: int = 7
    min_runs: int = 3
    floor_s: float = 0.1  # for the budget (a share): the same number, as 10 points of budget


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def nightly(rows: Sequence[HistoryRow]) -> list[Night]:
    """One summary per UTC day with runs, oldest first."""
    days: dict[str, list[HistoryRow]] = {}
    for row in sorted(rows, key=lambda r: r.started_at):
        days.setdefault(_day(row.started_at), []).append(row)
    return [
        Night(
            day=day,
            runs=len(members),
            passed=sum(1 for r in members if r.verdict == "passed"),
            rto_s=_median([r.rto_s for r in members]),
            ttd_s=_median([r.ttd_s for r in members]),
            budget_burned=_median([r.budget_burned for r in members]),
        )
        for day, members in days.items()
    ]


def regressions(
    current: HistoryRow, earlier: Sequence[HistoryRow], policy: RegressionPolicy
) -> list[str]:
    """One sentence per figure of `current` worse than its recent median (`earlier`: the same
    experiment's runs before it, any order)."""
    recent = sorted(
        (r for r in earlier if r.started_at < current.started_at), key=lambda r: r.started_at
    )[-policy.window :]
    found = []
    for attribute, label in _FIGURES:
        value = getattr(current, attribute)
        past = [getattr(r, attribute) for r in recent if getattr(r, attribute) is not None]
        if value is None or len(past) < policy.min_runs:
            continue
        median = statistics.median(past)
        if value - median > policy.floor_s and value > median * (1 + policy.margin):
            unit = "" if attribute == "budget_burned" else " s"
            found.append(
                f"{current.experiment}: {label} {value:.3g}{unit} is worse than the median "
                f"{median:.3g}{unit} of its last {len(past)} runs by more than "
                f"{policy.margin:.0%}"
            )
    return found
