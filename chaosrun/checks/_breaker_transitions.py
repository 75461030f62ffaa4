"""Circuit-breaker verdicts on its recorded transitions: it opens, it closes, in a valid sequence.

What each verdict requires is described in `chaosrun.checks.circuit_breaker`.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosrun.checks._breaker_common import hit, names, rel
from chaosrun.checks.expectations import BreakerExpectation, fmt_s, n_of
from chaosrun.checks.observation import BreakerTransition, Observation, Verdict

__all__ = ["VALID_TRANSITIONS", "closes", "opens", "sequence"]

VALID_TRANSITIONS = frozenset(
    {("closed", "open"), ("open", "half-open"), ("half-open", "closed"), ("half-open", "open")}
)


def opens(
    observation: Observation,
    e: BreakerExpectation,
    transitions: Sequence[BreakerTransition],
    injected_at: float,
    cleared_at: float | None,
    end: float,
    endpoints: tuple[str, ...],
) -> Verdict:
    name, dep = "circuit_breaker.opens", e.dependency
    expected = f"{dep} breaker opens within {e.opens_within_s:g} s of injection"
    trips = [t.at for t in transitions if (t.from_state, t.to_state) == ("closed", "open")]
    after = [t for t in trips if t >= injected_at]
    if after and after[0] - injected_at <= e.opens_within_s:
        observed = f"opened {fmt_s(after[0] - injected_at)} after injection"
        return Verdict(name, True, expected, observed)
    if after:
        observed = f"first opened {fmt_s(after[0] - injected_at)} after injection"
        return Verdict(name, False, expected, observed)
    hits = hit(observation, endpoints, injected_at, cleared_at or end)
    during = f"while {n_of(hits, 'request')} on {names(endpoints)} were degraded or failed"
    if trips:
        observed = (
            f"opened only before the fault ({fmt_s(injected_at - trips[-1])} before injection, "
            f"not caused by it), not again {during} during the fault"
        )
    else:
        observed = (
            f"breaker never opened ({n_of(len(transitions), 'transition')}) {during} "
            "during the fault"
        )
    return Verdict(name, False, expected, observed)


def closes(
    e: BreakerExpectation,
    transitions: Sequence[BreakerTransition],
    cleared_at: float | None,
    end: float,
) -> Verdict:
    name = "circuit_breaker.closes"
    expected = f"closed within {e.closes_within_s:g} s after the fault cleared, and ends closed"
    ordered = sorted(transitions, key=lambda t: t.at)
    if cleared_at is None:
        return Verdict(name, False, expected, "the fault was never cleared")
    if not any(t.to_state == "open" for t in ordered):
        return Verdict(name, False, expected, "breaker never opened: nothing to close")
    deadline = cleared_at + e.closes_within_s
    before = [t for t in ordered if t.at <= deadline]
    state_then = before[-1].to_state if before else "closed"
    final = ordered[-1].to_state
    closings = [t.at for t in ordered if t.to_state == "closed"]
    last_close = (
        f"last closed {rel(closings[-1] - cleared_at)} the fault cleared"
        if closings
        else "never closed"
    )
    passed = state_then == "closed" and final == "closed"
    if passed:
        return Verdict(name, True, expected, f"{last_close}; ends closed")
    observed = f"{state_then} {fmt_s(e.closes_within_s)} after the fault cleared"
    if end < deadline:
        observed = f"{state_then} at the end of the observation, {fmt_s(end - cleared_at)} after "
        observed += "the fault cleared"
    return Verdict(name, False, expected, f"{observed}; {last_close}; ends {final}")


def sequence(transitions: Sequence[BreakerTransition], injected_at: float) -> Verdict:
    name = "circuit_breaker.sequence"
    expected = "only closed->open, open->half-open, half-open->closed, half-open->open"
    ordered = sorted(transitions, key=lambda t: t.at)
    if not ordered:
        return Verdict(name, False, expected, "no transition: the breaker never left closed")
    previous = "closed"
    for i, t in enumerate(ordered, 1):
        pair = (t.from_state, t.to_state)
        if t.from_state != previous or pair not in VALID_TRANSITIONS:
            observed = (
                f"transition {i} of {len(ordered)} at {rel(t.at - injected_at)} injection: "
                f"{t.from_state}->{t.to_state}"
            )
            if t.from_state != previous:
                observed += f" (the breaker was {previous})"
            return Verdict(name, False, expected, observed)
        previous = t.to_state
    path = " ".join(_short(t.to_state) for t in ordered[:12])
    more = f" ... ({len(ordered)} in all)" if len(ordered) > 12 else ""
    return Verdict(
        name, True, expected, f"{n_of(len(ordered), 'valid transition')}: closed {path}{more}"
    )


def _short(state: str) -> str:
    return {"closed": "->C", "open": "->O", "half-open": "->H"}.get(state, f"->{state}")
