"""A run's verdict, derived from what happened in it (pure).

Chaos Toolkit's status is an input, not the verdict: chaoslib calls a run `completed` when its
steady state did not hold before the method (the method never ran), and when an action of the
method raised. The verdict is decided here, once, from the phases of the run, in this order (the
first row that applies wins; it also names the run's first real cause):

| # | what happened                                      | verdict        | exit |
|---|----------------------------------------------------|----------------|------|
| 1 | interrupted by the user (Ctrl-C, SIGTERM)          | interrupted    | 130  |
| 2 | aborted (stop condition, deadline, infrastructure) | aborted        | 4    |
| 3 | a hypothesis-before probe raised                   | failed         | 1    |
| 4 | hypothesis before not met                          | not-steady     | 1    |
| 5 | an activity of the method failed                   | failed         | 1    |
| 6 | a hypothesis-after probe raised                    | failed         | 1    |
| 7 | hypothesis after not met                           | deviated       | 1    |
| 8 | a rollback failed                                  | failed         | 1    |
| 9 | the run failed otherwise (worker died, ...)        | failed         | 1    |
| 10| verdicts were judged on an untrusted measurement   | inconclusive   | 1    |
| 11| a resilience verdict failed                        | failed         | 1    |
| 12| everything above held                              | passed         | 0    |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "EXIT_CODES",
    "PhaseState",
    "RunFacts",
    "RunVerdict",
    "activity_error",
    "facts_from_journal",
    "judge_run",
    "probe_miss",
    "tolerance_text",
]

Verdict = Literal[
    "passed",
    "failed",
    "not-steady",
    "deviated",
    "inconclusive",
    "not-judged",
    "aborted",
    "interrupted",
]
PhaseState = Literal["met", "not-met", "errored", "absent", "not-run"]
StepsState = Literal["ok", "failed", "not-run"]

EXIT_CODES: Mapping[str, int] = {
    "passed": 0,
    "failed": 1,
    "not-steady": 1,
    "deviated": 1,
    "inconclusive": 1,
    "not-judged": 1,
    "aborted": 4,
    "interrupted": 130,
}


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What happened in a run, phase by phase, each with the sentence that explains it."""

    status: str  # the journal's: completed | failed | aborted | interrupted
    before: PhaseState
    method: StepsState
    after: PhaseState
    rollbacks: StepsState
    measured_verdicts: int  # resilience verdicts judged from the measurement (RTO, expect)
    failed_verdicts: tuple[str, ...]  # "check: observed" of each failed one
    measurement_trusted: bool
    unjudged_verdicts: tuple[str, ...] = ()  # "check: what it would need" of each not judged
    reason: str | None = None  # the supervisor's reason for an abort / interruption / failure
    before_detail: str = ""  # the first failing probe: what it saw against its tolerance
    method_detail: str = ""
    after_detail: str = ""
    rollbacks_detail: str = ""
    trust_detail: str = ""


@dataclass(frozen=True, slots=True)
class RunVerdict:
    verdict: Verdict
    exit_code: int
    cause: str | None  # the first real cause of a verdict other than passed

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "exit_code": self.exit_code, "cause": self.cause}


def judge_run(facts: RunFacts) -> RunVerdict:
    verdict, cause = _decide(facts)
    return RunVerdict(verdict, EXIT_CODES[verdict], cause)


def _decide(f: RunFacts) -> tuple[Verdict, str | None]:
    if f.status == "interrupted":
        return "interrupted", f.reason or "interrupted by the user"
    if f.status == "aborted":
        return "aborted", f.reason or "aborted"
    if f.before == "errored":
        return "failed", f"the hypothesis before injection could not be judged: {f.before_detail}"
    if f.before == "not-met":
        return "not-steady", (
            f"not in steady state before injection: the method did not run ({f.before_detail})"
        )
    if f.method == "failed":
        return "failed", f"the method failed: {f.method_detail}"
    if f.after == "errored":
        return "failed", f"the hypothesis after the method could not be judged: {f.after_detail}"
    if f.after == "not-met":
        return "deviated", f"the steady state deviated after the method ({f.after_detail})"
    if f.rollbacks == "failed":
        return "failed", f"a rollback failed: {f.rollbacks_detail}"
    if f.status != "completed":
        return "failed", f.reason or f"the run ended with status {f.status}"
    if f.measured_verdicts and not f.measurement_trusted:
        return "inconclusive", f"the measurement is not trusted: {f.trust_detail}"
    if f.failed_verdicts:
        first = f.failed_verdicts[0]
        more = len(f.failed_verdicts) - 1
        rest = f" (and {more} more)" if more else ""
        return "failed", f"resilience verdict failed: {first}{rest}"
    if f.unjudged_verdicts:
        first = f.unjudged_verdicts[0]
        more = len(f.unjudged_verdicts) - 1
        rest = f" (and {more} more)" if more else ""
        return "not-judged", f"a resilience verdict could not be judged: {first}{rest}"
    return "passed", None


def _status(verdict: Mapping[str, Any]) -> str:
    """A verdict's status; journals from before "not-judged" existed have `passed` only."""
    status = verdict.get("status")
    if isinstance(status, str):
        return status
    return "passed" if verdict.get("passed") else "failed"


def facts_from_journal(journal: Mapping[str, Any]) -> RunFacts:
    """The facts of a composed journal (Chaos Toolkit keys plus the `chaosrun` section)."""
    chaosrun = _mapping(journal.get("chaosrun"))
    worker = _mapping(chaosrun.get("worker"))
    states = _mapping(journal.get("steady_states"))
    hypothesis = _mapping(_mapping(journal.get("experiment")).get("steady-state-hypothesis"))
    has_hypothesis = bool(hypothesis.get("probes"))
    before, before_detail = _phase(states.get("before"), has_hypothesis)
    method_ran = before in ("met", "absent") and (
        bool(journal.get("run")) or _method_empty(journal)
    )
    method, method_detail = _steps(journal.get("run"), ran=method_ran)
    after, after_detail = _phase(states.get("after"), has_hypothesis)
    rollbacks, rollbacks_detail = _steps(journal.get("rollbacks"), ran=True)
    verdicts = [v for v in chaosrun.get("verdicts") or [] if isinstance(v, Mapping)]
    failed = tuple(
        f"{v.get('check')}: {v.get('observed')}" for v in verdicts if _status(v) == "failed"
    )
    unjudged = tuple(
        f"{v.get('check')}: {v.get('observed')}" for v in verdicts if _status(v) == "not-judged"
    )
    notes = [str(n) for n in chaosrun.get("measurement_notes") or []]
    trusted = chaosrun.get("measurement_trusted") is not False
    return RunFacts(
        status=str(journal.get("status")),
        before=before,
        method=method,
        after=after,
        rollbacks=rollbacks,
        measured_verdicts=len(verdicts),
        failed_verdicts=failed,
        unjudged_verdicts=unjudged,
        measurement_trusted=trusted,
        reason=worker.get("reason") if isinstance(worker.get("reason"), str) else None,
        before_detail=before_detail,
        method_detail=method_detail,
        after_detail=after_detail,
        rollbacks_detail=rollbacks_detail,
        trust_detail=next((n for n in notes if "not trusted" in n), "the load fell short"),
    )


def _phase(state: object, expected: bool) -> tuple[PhaseState, str]:
    if not isinstance(state, Mapping) or "steady_state_met" not in state:
        return ("not-run" if expected else "absent"), ""
    probes = [p for p in state.get("probes") or [] if isinstance(p, Mapping)]
    for probe in probes:
        if probe.get("status") != "succeeded":
            return "errored", f"probe '{_name(probe)}' raised: {_error(probe)}"
    for probe in probes:
        if probe.get("tolerance_met") is False:
            return "not-met", probe_miss(probe)
    if state.get("steady_state_met") is False:
        return "not-met", "a probe was not in its tolerance"
    return "met", ""


def probe_miss(probe: Mapping[str, Any]) -> str:
    """ "probe 'p99' gave 12.5 for p99_ms, tolerance: between 0 and 0.001"."""
    activity = _mapping(probe.get("activity"))
    tolerance = activity.get("tolerance")
    output = probe.get("output")
    target = _mapping(tolerance).get("target") if isinstance(tolerance, Mapping) else None
    if isinstance(target, str) and isinstance(output, Mapping) and target in output:
        seen = f"{_short(output[target])} for {target}"
    elif isinstance(output, Mapping) and "status" in output and _on_status(tolerance):
        seen = f"status {output['status']}"  # Chaos Toolkit holds an http answer's status
    else:
        seen = _short(output)
    return f"probe '{_name(probe)}' gave {seen}, tolerance: {tolerance_text(tolerance)}"


def _on_status(tolerance: object) -> bool:
    if isinstance(tolerance, list):
        return all(isinstance(v, int) and not isinstance(v, bool) for v in tolerance)
    return isinstance(tolerance, int) and not isinstance(tolerance, bool)


def tolerance_text(tolerance: object) -> str:
    """A Chaos Toolkit tolerance in words."""
    if isinstance(tolerance, bool) or tolerance is None:
        return f"equal to {str(tolerance).lower()}"
    if isinstance(tolerance, int | float | str):
        return f"equal to {tolerance!r}" if isinstance(tolerance, str) else f"equal to {tolerance}"
    if isinstance(tolerance, list):
        return "one of " + ", ".join(_short(v) for v in tolerance)
    if isinstance(tolerance, Mapping):
        kind = tolerance.get("type")
        on = f" (on {tolerance['target']})" if isinstance(tolerance.get("target"), str) else ""
        if kind == "range":
            bounds = tolerance.get("range")
            if isinstance(bounds, list) and len(bounds) == 2:
                return f"between {_short(bounds[0])} and {_short(bounds[1])}{on}"
        if kind == "regex":
            return f"matching /{tolerance.get('pattern')}/{on}"
        if kind == "jsonpath":
            expect = f" = {_short(tolerance['expect'])}" if "expect" in tolerance else ""
            return f"jsonpath {tolerance.get('path')}{expect}{on}"
        if kind == "probe":
            return f"probe '{tolerance.get('name')}' returns true"
    return _short(tolerance)


def _steps(runs: object, *, ran: bool) -> tuple[StepsState, str]:
    if not ran:
        return "not-run", ""
    for run in runs if isinstance(runs, list) else []:
        if isinstance(run, Mapping) and run.get("status") not in ("succeeded", "skipped"):
            activity = _mapping(run.get("activity"))
            kind = activity.get("type", "activity")
            return "failed", f"{kind} '{activity.get('name')}' {run.get('status')}: {_error(run)}"
    return "ok", ""


def _method_empty(journal: Mapping[str, Any]) -> bool:
    method = _mapping(journal.get("experiment")).get("method")
    return isinstance(method, list) and not method


def _error(run: Mapping[str, Any]) -> str:
    return activity_error(run.get("exception")) or "no error recorded"


# "module.Class: " prefixes around an activity's error: chaoslib's ActivityFailed carries the
# function's exception as text, and chaosrun's own errors are lines written for the user already.
_WRAPPER = re.compile(r"(?:chaoslib\.exceptions\.ActivityFailed|chaosrun\.errors\.[A-Za-z]+): ")


def activity_error(exception: object) -> str | None:
    """The one line that says what went wrong, from a journal's `exception` (Chaos Toolkit
    stores the traceback as a list of lines): its last line, without chaoslib's ActivityFailed
    and chaosrun's error class names. Other class names stay: they say what failed."""
    if not isinstance(exception, list) or not exception:
        return None
    lines = str(exception[-1]).strip().splitlines()
    text = lines[-1].strip() if lines else ""
    while (wrapper := _WRAPPER.match(text)) is not None:
        text = text[wrapper.end() :]
    return text


def _name(run: Mapping[str, Any]) -> str:
    return str(_mapping(run.get("activity")).get("name"))


def _short(value: object, limit: int = 60) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
