"""Verdicts on recovery: the recovery time objective, and how fast a fault breached the SLO.

`check_rto` fails when the SLO was breached and did not hold again within the objective, and also
when there was too little traffic after injection to say the SLO held ("no-data"): a run without
load must not pass as "no impact".
"""

from __future__ import annotations

from chaosrun.checks.observation import Verdict
from chaosrun.measure.recovery import Recovery

__all__ = ["check_rto", "check_ttd"]


def check_rto(recovery: Recovery, objective_s: float) -> Verdict:
    """Pass iff the SLO never broke, or it recovered with rto_s (to the ms) <= objective_s."""
    expected = f"recovered within {_seconds(objective_s)} s of injection"
    rto = recovery.rto_s
    if recovery.state == "no-impact":
        passed = True
        observed = (
            f"no SLO breach after injection ({recovery.requests} requests, "
            f"{recovery.failed_requests} failed)"
        )
    elif recovery.state == "no-data":
        passed = False
        observed = (
            f"not enough traffic to evaluate the SLO after injection ({recovery.requests} requests)"
        )
    elif rto is not None:
        passed = round(rto, 3) <= objective_s  # decided on the ms the sentence shows
        observed = f"recovered after {rto:.3f} s ({_breach(recovery)})"
    else:
        passed = False
        observed = f"not recovered before the run ended ({_breach(recovery)})"
    return Verdict("recovery.rto", passed, expected, observed)


def check_ttd(recovery: Recovery, max_s: float) -> Verdict:
    """Pass iff the SLO was breached within max_s of injection (the fault visibly took effect)."""
    expected = f"SLO breached within {_seconds(max_s)} s of injection"
    ttd = recovery.ttd_s
    if ttd is None:
        observed = (
            "not enough traffic to evaluate the SLO after injection"
            if recovery.state == "no-data"
            else "no SLO breach after injection"
        )
        return Verdict("recovery.ttd", False, expected, observed)
    return Verdict("recovery.ttd", ttd <= max_s, expected, f"breached at +{ttd:.3f} s")


def _breach(recovery: Recovery) -> str:
    ttd = recovery.ttd_s
    at = "" if ttd is None else f"breached at +{ttd:.3f} s, "
    return f"{at}{recovery.failed_requests} failed requests"


def _seconds(value: float) -> str:
    """5 -> "5.0", 0.25 -> "0.25": to the ms, with at least one decimal."""
    text = f"{value:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
