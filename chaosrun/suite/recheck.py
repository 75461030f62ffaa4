"""When a suite runs an experiment again, alone (pure).

Experiments side by side share the host's CPU: on a small machine a lab starved by its
neighbours answers slowly, and an experiment can fail for the suite's own doing (measured: 4 at
once on 2 cores, every one not in steady state at p99 600-900 ms; bench/suite.py). A failure
seen while others ran and the host's CPU was saturated is therefore confirmed by running the
experiment again once the others are done, alone; its result is the one that counts, and the
first attempt is kept beside it. A failure seen alone, or on an idle host, stands as it is.
"""

from __future__ import annotations

from dataclasses import replace

from chaosrun.suite.results import ExperimentResult

__all__ = ["SATURATED", "needs_recheck", "settle"]

SATURATED = 0.85  # share of all cores busy over the run
_RECHECKED_STATES = frozenset({"failed", "aborted"})


def needs_recheck(result: ExperimentResult) -> bool:
    return (
        result.state in _RECHECKED_STATES
        and result.alongside > 0
        and result.host_cpu_busy is not None
        and result.host_cpu_busy >= SATURATED
    )


def settle(first: ExperimentResult, again: ExperimentResult) -> ExperimentResult:
    """The result of running `first` again alone: `again` counts, `first` is noted."""
    seen = (
        f"first run {first.verdict or first.state} alongside {first.alongside} other "
        f"experiment(s) with the host CPU {first.host_cpu_busy or 0:.0%} busy"
    )
    if again.state in ("interrupted", "skipped"):
        return replace(first, reason=f"{first.reason}; its run alone was {again.state}")
    if again.state == "passed":
        reason = f"passed when run alone; {seen}: {first.reason}"
    else:
        reason = f"{again.reason} (confirmed alone; {seen})"
    return replace(again, reason=reason, first_attempt=first.to_dict())
