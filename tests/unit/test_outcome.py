"""chaosrun.checks.outcome: every row of the outcome table, from journals as chaoslib writes."""

from __future__ import annotations

from typing import Any

import pytest

from chaosrun.checks.outcome import (
    RunFacts,
    facts_from_journal,
    judge_run,
    tolerance_text,
)

P99_TOLERANCE = {"type": "range", "range": [0, 0.001], "target": "p99_ms"}


def probe(name: str, *, met: bool | None = True, raised: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "activity": {"type": "probe", "name": name, "tolerance": P99_TOLERANCE},
        "status": "failed" if raised else "succeeded",
        "output": None if raised else {"p99_ms": 12.5, "availability": 1.0},
    }
    if raised:
        run["exception"] = ["Traceback ...", f"{raised}\n"]
    else:
        run["tolerance_met"] = met
    return run


def action(name: str, *, raised: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "activity": {"type": "action", "name": name},
        "status": "failed" if raised else "succeeded",
        "output": None,
    }
    if raised:
        run["exception"] = ["Traceback ...", f"{raised}\n"]
    return run


def state(*probes: dict[str, Any]) -> dict[str, Any]:
    met = all(p.get("tolerance_met") is True for p in probes)
    return {"steady_state_met": met, "probes": list(probes)}


def journal(
    *,
    status: str = "completed",
    before: dict[str, Any] | None = None,
    run: list[dict[str, Any]] | None = None,
    after: dict[str, Any] | None = None,
    rollbacks: list[dict[str, Any]] | None = None,
    verdicts: list[dict[str, Any]] | None = None,
    trusted: bool = True,
    reason: str | None = None,
    hypothesis: bool = True,
    method: list[Any] | None = None,
) -> dict[str, Any]:
    experiment: dict[str, Any] = {"title": "t", "method": method if method is not None else [{}]}
    if hypothesis:
        experiment["steady-state-hypothesis"] = {"title": "h", "probes": [{}]}
    default_state = state(probe("p99")) if hypothesis else None
    return {
        "status": status,
        "deviated": False,
        "experiment": experiment,
        "steady_states": {
            "before": default_state if before is None else before,
            "after": default_state if after is None else after,
        },
        "run": [action("inject")] if run is None else run,
        "rollbacks": [action("revert")] if rollbacks is None else rollbacks,
        "chaosrun": {
            "worker": {"reason": reason},
            "verdicts": verdicts or [],
            "measurement_trusted": trusted,
            "measurement_notes": []
            if trusted
            else ["the load fell short of its target (rate 80/100): figures are not trusted"],
        },
    }


PASS = {"check": "recovery.rto", "passed": True, "observed": "recovered after 1.0 s"}
FAIL = {"check": "recovery.rto", "passed": False, "observed": "recovered after 9.0 s"}
FAILED_CAUSE = "resilience verdict failed: recovery.rto: recovered after 9.0 s"
UNJUDGED = {
    "check": "timeout.bounded",
    "status": "not-judged",
    "passed": False,
    "observed": "not judged: load on /api/play while the fault is active",
}
MISS = "probe 'p99' gave 12.5 for p99_ms, tolerance: between 0 and 0.001 (on p99_ms)"
NOT_STEADY = dict(before=state(probe("p99", met=False)), after={}, run=[])

ROWS: list[tuple[str, dict[str, Any], str, int, str | None]] = [
    ("interrupted", dict(status="interrupted", reason="SIGINT"), "interrupted", 130, "SIGINT"),
    ("aborted", dict(status="aborted", reason="stop: p99 high"), "aborted", 4, "stop: p99 high"),
    (
        "before errored",
        dict(status="failed", before=state(probe("p99", raised="OSError: refused")), run=[]),
        "failed",
        1,
        "the hypothesis before injection could not be judged: probe 'p99' raised: OSError: refused",
    ),
    (
        "before not met",
        NOT_STEADY,
        "not-steady",
        1,
        f"not in steady state before injection: the method did not run ({MISS})",
    ),
    (
        "before not met, verdicts failed too",
        dict(NOT_STEADY, verdicts=[FAIL]),
        "not-steady",
        1,
        f"not in steady state before injection: the method did not run ({MISS})",
    ),
    (
        "method failed",
        dict(run=[action("inject", raised="ToxiproxyError: no proxy 'x'")]),
        "failed",
        1,
        "the method failed: action 'inject' failed: ToxiproxyError: no proxy 'x'",
    ),
    (
        "method failed, after not met",
        dict(run=[action("inject", raised="E: x")], after=state(probe("p99", met=False))),
        "failed",
        1,
        "the method failed: action 'inject' failed: E: x",
    ),
    (
        "after errored",
        dict(status="failed", after=state(probe("p99", raised="TimeoutError"))),
        "failed",
        1,
        "the hypothesis after the method could not be judged: probe 'p99' raised: TimeoutError",
    ),
    (
        "after not met",
        dict(after=state(probe("p99", met=False))),
        "deviated",
        1,
        f"the steady state deviated after the method ({MISS})",
    ),
    (
        "rollback failed",
        dict(rollbacks=[action("revert", raised="ToxiproxyError: 500")]),
        "failed",
        1,
        "a rollback failed: action 'revert' failed: ToxiproxyError: 500",
    ),
    (
        "worker died",
        dict(status="failed", reason="worker exited with -9"),
        "failed",
        1,
        "worker exited with -9",
    ),
    (
        "untrusted measurement with verdicts",
        dict(verdicts=[PASS], trusted=False),
        "inconclusive",
        1,
        "the measurement is not trusted: the load fell short of its target (rate 80/100): "
        "figures are not trusted",
    ),
    (
        "untrusted measurement, verdicts failed",
        dict(verdicts=[FAIL], trusted=False),
        "inconclusive",
        1,
        "the measurement is not trusted: the load fell short of its target (rate 80/100): "
        "figures are not trusted",
    ),
    (
        "a verdict failed",
        dict(verdicts=[PASS, FAIL]),
        "failed",
        1,
        "resilience verdict failed: recovery.rto: recovered after 9.0 s",
    ),
    (
        "two verdicts failed",
        dict(verdicts=[FAIL, {**FAIL, "check": "circuit_breaker.opens"}]),
        "failed",
        1,
        "resilience verdict failed: recovery.rto: recovered after 9.0 s (and 1 more)",
    ),
    (
        "a verdict not judged",
        dict(verdicts=[PASS, UNJUDGED]),
        "not-judged",
        1,
        "a resilience verdict could not be judged: timeout.bounded: not judged: load on "
        "/api/play while the fault is active",
    ),
    ("failed wins over not judged", dict(verdicts=[UNJUDGED, FAIL]), "failed", 1, FAILED_CAUSE),
    (
        "not judged, untrusted measurement",
        dict(verdicts=[UNJUDGED], trusted=False),
        "inconclusive",
        1,
        "the measurement is not trusted: the load fell short of its target (rate 80/100): "
        "figures are not trusted",
    ),
    ("all held", dict(verdicts=[PASS]), "passed", 0, None),
    ("untrusted without verdicts", dict(trusted=False), "passed", 0, None),
    ("no hypothesis", dict(hypothesis=False), "passed", 0, None),
    ("hypothesis only: empty method", dict(run=[], method=[]), "passed", 0, None),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "verdict", "code", "cause"), ROWS, ids=[r[0] for r in ROWS]
)
def test_outcome_table(
    case: str, kwargs: dict[str, Any], verdict: str, code: int, cause: str | None
) -> None:
    outcome = judge_run(facts_from_journal(journal(**kwargs)))
    assert (outcome.verdict, outcome.exit_code, outcome.cause) == (verdict, code, cause)


def test_chaoslib_completed_with_a_failed_hypothesis_is_not_a_pass() -> None:
    # exactly what chaoslib 1.44 writes when the steady state fails before the method
    written = journal(**NOT_STEADY)
    assert written["status"] == "completed"
    facts = facts_from_journal(written)
    assert (facts.before, facts.method, facts.after) == ("not-met", "not-run", "not-run")
    assert judge_run(facts).verdict == "not-steady"


def test_a_method_that_never_ran_is_not_ok() -> None:
    facts = facts_from_journal(journal(run=[]))  # the hypothesis held, yet no method ran
    assert facts.method == "not-run"
    assert facts.after == "met"


def test_facts_default_when_the_journal_is_thin() -> None:
    facts = facts_from_journal({"status": "failed"})
    assert facts == RunFacts(
        status="failed",
        before="absent",
        method="not-run",
        after="absent",
        rollbacks="ok",
        measured_verdicts=0,
        failed_verdicts=(),
        measurement_trusted=True,
        trust_detail="the load fell short",
    )
    assert judge_run(facts).cause == "the run ended with status failed"


@pytest.mark.parametrize(
    ("tolerance", "text"),
    [
        (200, "equal to 200"),
        (True, "equal to true"),
        ("ok", "equal to 'ok'"),
        ([200, 204], "one of 200, 204"),
        (
            {"type": "range", "range": [0.99, 1.0], "target": "availability"},
            "between 0.99 and 1 (on availability)",
        ),
        ({"type": "range", "range": [0, 500]}, "between 0 and 500"),
        ({"type": "regex", "pattern": "^ok$", "target": "body"}, "matching /^ok$/ (on body)"),
        ({"type": "jsonpath", "path": "$.up", "expect": True}, "jsonpath $.up = True"),
        ({"type": "probe", "name": "check"}, "probe 'check' returns true"),
    ],
)
def test_tolerance_in_words(tolerance: object, text: str) -> None:
    assert tolerance_text(tolerance) == text
