"""Budget left and burn rates, and the decision to admit an experiment (pure).

With an availability objective `o` the error budget is the share `1 - o` of requests that may
fail over the SLO's window. A burn rate is the observed error ratio over the budget: 1.0 spends
the budget exactly over the window. Spending a share `s` of the budget within `h` hours is a
burn rate of `s * window_hours / h`: the SRE practice's fast burn (2 % in 1 h) is 14.4 and slow
burn (5 % in 6 h) is 6 for a 30-day window. An experiment is not admitted when the budget is
spent, or either burn rate is over its limit: a service already burning its budget is not one
to inject more failure into.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Admission", "BurnLimit", "Counts", "burn_limit", "burn_rate", "decide"]

_SPENT = 1e-9  # budget left at or below this is spent: 1 - 0.01 / 0.01 is 8.9e-16, not 0


@dataclass(frozen=True, slots=True)
class Counts:
    errors: float
    total: float


@dataclass(frozen=True, slots=True)
class BurnLimit:
    share: float  # of the whole budget
    hours: float


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    slo: str
    source: str  # "history" or the Prometheus URL
    reason: str  # one sentence, also when admitted
    budget_left: float | None = None  # share of the window's budget left (negative: overspent)
    fast_burn: float | None = None  # None: the counts could not be read
    slow_burn: float | None = None
    fast_limit: float | None = None
    slow_limit: float | None = None

    def to_dict(self) -> dict[str, object]:
        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "admitted": self.admitted,
            "slo": self.slo,
            "source": self.source,
            "budget_left": rounded(self.budget_left, 4),
            "fast_burn": rounded(self.fast_burn, 3),
            "slow_burn": rounded(self.slow_burn, 3),
            "fast_limit": rounded(self.fast_limit, 3),
            "slow_limit": rounded(self.slow_limit, 3),
            "reason": self.reason,
        }


def burn_rate(counts: Counts, objective: float) -> float:
    if counts.total <= 0:
        return 0.0
    return (counts.errors / counts.total) / (1.0 - objective)


def burn_limit(limit: BurnLimit, window_days: float) -> float:
    return limit.share * window_days * 24.0 / limit.hours


def decide(
    slo: str,
    objective: float,
    window_days: float,
    window: Counts,
    fast: Counts,
    slow: Counts,
    limits: tuple[BurnLimit, BurnLimit],
    source: str,
) -> Admission:
    fast_limit, slow_limit = (burn_limit(limit, window_days) for limit in limits)
    left = 1.0 - burn_rate(window, objective)
    fast_rate, slow_rate = burn_rate(fast, objective), burn_rate(slow, objective)
    problems = []
    if left <= _SPENT:
        problems.append(f"{1 - left:.0%} of the {window_days:g}-day error budget is spent")
    if fast_rate > fast_limit:
        problems.append(
            f"fast burn {fast_rate:.1f}x over {limits[0].hours:g} h (limit {fast_limit:.1f}x)"
        )
    if slow_rate > slow_limit:
        problems.append(
            f"slow burn {slow_rate:.1f}x over {limits[1].hours:g} h (limit {slow_limit:.1f}x)"
        )
    figures = (
        f"{max(left, 0):.0%} of the budget left, burn {fast_rate:.1f}x ({limits[0].hours:g} h) "
        f"and {slow_rate:.1f}x ({limits[1].hours:g} h)"
    )
    if problems:
        reason = f"not admitted by SLO '{slo}' ({source}): " + "; ".join(problems)
    else:
        reason = f"admitted by SLO '{slo}' ({source}): {figures}"
    return Admission(
        admitted=not problems,
        slo=slo,
        source=source,
        reason=reason,
        budget_left=left,
        fast_burn=fast_rate,
        slow_burn=slow_rate,
        fast_limit=fast_limit,
        slow_limit=slow_limit,
    )
