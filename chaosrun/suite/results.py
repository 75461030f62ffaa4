"""What a suite found, one record per experiment, and the suite's exit code (pure).

An experiment's result is read from what its `chaosrun run --json` child printed: the run
document (verdict, checks, recovery) or, when the run never started, the error document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from chaosrun.errors import (
    EXIT_ABORTED,
    EXIT_DEVIATED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_NOT_ADMITTED",
    "ExperimentResult",
    "State",
    "SuiteResult",
    "result_from_child",
    "suite_exit_code",
]

EXIT_NOT_ADMITTED = 5

State = Literal[
    "queued",
    "running",
    "passed",
    "failed",  # a verdict failed, the steady state deviated, or figures were not trusted
    "not-judged",
    "aborted",
    "error",  # the run could not start: invalid input (2) or no target (3)
    "interrupted",
    "skipped",  # not admitted (error budget) or not reached after an interruption
]

_REPORTED: tuple[State, ...] = (
    "passed",
    "failed",
    "not-judged",
    "aborted",
    "error",
    "interrupted",
    "skipped",
)
_FAILED_VERDICTS = frozenset({"failed", "not-steady", "deviated", "inconclusive"})


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    file: str
    title: str
    lane: str  # "own lab" or the explicit target it shares ("target <toxiproxy url>")
    state: State = "queued"
    verdict: str | None = None  # the run's verdict (chaosrun.checks.outcome) when it ran
    exit_code: int | None = None
    reason: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    checks: tuple[Mapping[str, Any], ...] = ()
    summary: Mapping[str, Any] | None = field(default=None, compare=False)
    admission: Mapping[str, Any] | None = None  # chaosrun.admission.burn.Admission.to_dict
    alongside: int = 0  # the most other experiments running at once while it ran
    host_cpu_busy: float | None = None  # share of all the host's cores busy while it ran
    first_attempt: Mapping[str, Any] | None = None  # when it was run again alone

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def finished(self) -> bool:
        return self.state not in ("queued", "running")

    @property
    def run_dir(self) -> str | None:
        value = (self.summary or {}).get("run_dir")
        return str(value) if value else None

    @property
    def recovery(self) -> Mapping[str, Any]:
        value = (self.summary or {}).get("recovery")
        return value if isinstance(value, Mapping) else {}

    @property
    def rto_expected(self) -> str | None:
        """The RTO verdict's expectation, as it reads ("recovered within 6.0 s of injection")."""
        found = next((c for c in self.checks if c.get("check") == "recovery.rto"), None)
        return None if found is None else str(found.get("expected"))

    @property
    def rto_objective_s(self) -> float | None:
        value = (self.summary or {}).get("rto_objective_s")
        return float(value) if isinstance(value, int | float) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "title": self.title,
            "lane": self.lane,
            "state": self.state,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "checks": [dict(c) for c in self.checks],
            "run_dir": self.run_dir,
            "recovery": dict(self.recovery) or None,
            "rto_objective_s": self.rto_objective_s,
            "admission": dict(self.admission) if self.admission else None,
            "alongside": self.alongside,
            "host_cpu_busy": None if self.host_cpu_busy is None else round(self.host_cpu_busy, 3),
            "first_attempt": dict(self.first_attempt) if self.first_attempt else None,
        }


@dataclass(frozen=True, slots=True)
class SuiteResult:
    results: tuple[ExperimentResult, ...]
    started_at: float
    ended_at: float
    interrupted: bool = False
    regressions: tuple[str, ...] = ()  # one sentence each (chaosrun.history.regression)
    fail_on_regression: bool = False

    @property
    def exit_code(self) -> int:
        return suite_exit_code(
            self.results, self.interrupted, bool(self.regressions) and self.fail_on_regression
        )

    def count(self, state: State) -> int:
        return sum(1 for r in self.results if r.state == state)

    def counts_text(self) -> str:
        """ "2 passed, 1 failed": the finished states that occur, in a fixed order."""
        return ", ".join(f"{self.count(s)} {s}" for s in _REPORTED if self.count(s))


def result_from_child(
    queued: ExperimentResult, exit_code: int, document: Mapping[str, Any] | None, ended_at: float
) -> ExperimentResult:
    """The finished result of `queued` from its child's exit code and JSON document."""
    done = replace(queued, exit_code=exit_code, ended_at=ended_at)
    if document is None:
        reason = f"the run printed no result (exit code {exit_code}); see its log"
        state: State = "interrupted" if exit_code == EXIT_INTERRUPTED else "error"
        return replace(done, state=state, reason=reason)
    if document.get("schema") == "chaosrun/error":
        error = document.get("error") or {}
        state = "interrupted" if exit_code == EXIT_INTERRUPTED else "error"
        return replace(done, state=state, reason=str(error.get("message") or "error"))
    verdict = str(document.get("verdict"))
    checks = tuple(c for c in document.get("checks") or () if isinstance(c, Mapping))
    return replace(
        done,
        state=_state_of(verdict),
        verdict=verdict,
        reason=document.get("reason"),
        checks=checks,
        summary=document,
    )


def _state_of(verdict: str) -> State:
    if verdict == "passed":
        return "passed"
    if verdict in _FAILED_VERDICTS:
        return "failed"
    if verdict in ("not-judged", "interrupted", "aborted"):
        return verdict  # type: ignore[return-value]
    return "failed"


def suite_exit_code(
    results: Sequence[ExperimentResult], interrupted: bool = False, regressed: bool = False
) -> int:
    """One code for the suite; a resilience finding outranks a target problem.

    130 interrupted; 1 any experiment failed, was not judged, or (when asked) regressed;
    4 any aborted; 3 any could not reach its target; 2 any was refused as invalid;
    5 some were skipped by error-budget admission and none of the above; 0 every one passed.
    An empty suite is not a pass (2).
    """
    states = {r.state for r in results}
    codes = {r.exit_code for r in results if r.state == "error"}
    if interrupted or "interrupted" in states:
        return EXIT_INTERRUPTED
    if states & {"failed", "not-judged"} or regressed:
        return EXIT_DEVIATED
    if "aborted" in states:
        return EXIT_ABORTED
    if "error" in states:
        return EXIT_UNAVAILABLE if codes - {EXIT_USAGE} else EXIT_USAGE
    if not results:
        return EXIT_USAGE
    if "skipped" in states:
        return EXIT_NOT_ADMITTED
    if states == {"passed"}:
        return EXIT_OK
    return EXIT_DEVIATED  # queued or running at the end: the suite did not do what it set out to
