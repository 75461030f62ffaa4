"""A tolerance that cannot apply to the value a probe returned is not met, not a dead worker.

Chaos Toolkit applies a `range` tolerance with `Decimal(value)` and a `regex` one with
`re.search(pattern, value)`, catching only `InvalidOperation`: a probe that returns None (a live
SLI over a window with no request in it: `availability` and the percentiles are None) or any
other value those cannot read raises TypeError out of `run_experiment`, and the worker dies with
a traceback. Validation refuses what it can see before the run (a missing `target`, a `target`
that is no key: `chaosrun.schema.preflight`); a value only the run produces is judged here as
chaosrun's safeguards judge it (`chaosrun.engine.probeguard`): a check that cannot be made
failed, with the reason in worker.log.

`install` (called by the worker before the run) wraps `chaoslib.hypothesis.within_tolerance`,
the name `run_steady_state_hypothesis` calls.
"""

from __future__ import annotations

import logging
from decimal import InvalidOperation
from typing import Any

__all__ = ["UNREADABLE", "install"]

UNREADABLE = (TypeError, ValueError, AttributeError, InvalidOperation)
logger = logging.getLogger("chaosrun")


def install() -> None:
    import chaoslib.hypothesis

    original = chaoslib.hypothesis.within_tolerance
    if getattr(original, "chaosrun_guarded", False):
        return

    def within_tolerance(tolerance: Any, value: Any, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(original(tolerance, value, *args, **kwargs))
        except UNREADABLE as exc:
            logger.warning(
                "tolerance %s cannot apply to the probe's value %.200r (%s: %s): not met",
                tolerance,
                value,
                type(exc).__name__,
                exc,
            )
            return False

    within_tolerance.chaosrun_guarded = True  # type: ignore[attr-defined]
    chaoslib.hypothesis.within_tolerance = within_tolerance
