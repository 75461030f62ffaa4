"""The suite's pure parts: the schedule, each child's result, the suite's one exit code."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chaosrun.suite.collect import OWN_LAB
from chaosrun.suite.results import (
    EXIT_NOT_ADMITTED,
    ExperimentResult,
    result_from_child,
    suite_exit_code,
)
from chaosrun.suite.schedule import startable

T1 = "target http://127.0.0.1:8474"
T2 = "target http://127.0.0.1:9474"


def _result(state: str, exit_code: int | None = None) -> ExperimentResult:
    return ExperimentResult("e.yaml", "E", OWN_LAB, state=state, exit_code=exit_code)  # type: ignore[arg-type]


class TestStartable:
    def test_own_labs_fill_every_free_slot(self) -> None:
        assert startable([OWN_LAB] * 5, [], 3) == [0, 1, 2]
        assert startable([OWN_LAB] * 5, [OWN_LAB, OWN_LAB], 3) == [0]
        assert startable([OWN_LAB] * 5, [OWN_LAB] * 3, 3) == []

    def test_a_shared_target_runs_one_at_a_time_and_others_overtake(self) -> None:
        assert startable([T1, T1, OWN_LAB], [], 4) == [0, 2]
        assert startable([T1, OWN_LAB, T2, T1], [T1], 4) == [1, 2]

    def test_serial_suite_starts_in_file_order(self) -> None:
        assert startable([T1, OWN_LAB], [], 1) == [0]
        assert startable([OWN_LAB, T1], [], 1) == [0]


class TestResultFromChild:
    queued = ExperimentResult("x.yaml", "X", OWN_LAB, state="running", started_at=10.0)

    @pytest.mark.parametrize(
        ("verdict", "state"),
        [
            ("passed", "passed"),
            ("failed", "failed"),
            ("deviated", "failed"),
            ("not-steady", "failed"),
            ("inconclusive", "failed"),
            ("not-judged", "not-judged"),
            ("aborted", "aborted"),
            ("interrupted", "interrupted"),
        ],
    )
    def test_run_documents(self, verdict: str, state: str) -> None:
        document = {
            "schema": "chaosrun/run",
            "verdict": verdict,
            "reason": "why",
            "checks": [{"check": "recovery.rto", "status": "passed"}],
            "recovery": {"rto_s": 1.5},
            "run_dir": "/r",
        }
        result = result_from_child(self.queued, 1, document, 12.5)
        assert (result.state, result.verdict, result.reason) == (state, verdict, "why")
        assert result.checks[0]["check"] == "recovery.rto"
        assert result.duration_s == 2.5
        assert result.run_dir == "/r"
        assert result.recovery["rto_s"] == 1.5

    def test_error_document_and_no_document(self) -> None:
        error = {"schema": "chaosrun/error", "error": {"message": "no lab"}}
        done = result_from_child(self.queued, 3, error, 11.0)
        assert (done.state, done.reason, done.exit_code) == ("error", "no lab", 3)
        killed = result_from_child(self.queued, -9, None, 11.0)
        assert killed.state == "error" and "exit code -9" in str(killed.reason)
        cut = result_from_child(self.queued, 130, None, 11.0)
        assert cut.state == "interrupted"


class TestSuiteExitCode:
    def test_all_passed_is_zero_and_empty_is_not_a_pass(self) -> None:
        assert suite_exit_code([_result("passed"), _result("passed")]) == 0
        assert suite_exit_code([]) == 2

    def test_not_judged_never_passes(self) -> None:
        assert suite_exit_code([_result("passed"), _result("not-judged")]) == 1

    def test_precedence(self) -> None:
        failed, aborted = _result("failed"), _result("aborted")
        unavailable, invalid = _result("error", 3), _result("error", 2)
        skipped, cut = _result("skipped"), _result("interrupted")
        assert suite_exit_code([aborted, failed, unavailable]) == 1
        assert suite_exit_code([aborted, unavailable]) == 4
        assert suite_exit_code([unavailable, invalid]) == 3
        assert suite_exit_code([invalid, _result("passed")]) == 2
        assert suite_exit_code([skipped, _result("passed")]) == EXIT_NOT_ADMITTED
        assert suite_exit_code([failed, cut]) == 130
        assert suite_exit_code([_result("passed")], interrupted=True) == 130

    def test_a_regression_fails_only_when_asked(self) -> None:
        assert suite_exit_code([_result("passed")], regressed=True) == 1
        assert suite_exit_code([_result("queued")]) == 1


class TestRecheck:
    def _seen(self, state: str, alongside: int, busy: float | None) -> ExperimentResult:
        return ExperimentResult(
            "x.yaml", "X", OWN_LAB, state=state, verdict="not-steady", reason="p99 900 ms",  # type: ignore[arg-type]
            alongside=alongside, host_cpu_busy=busy,
        )  # fmt: skip

    def test_only_failures_beside_others_on_a_saturated_host(self) -> None:
        from chaosrun.suite.recheck import SATURATED, needs_recheck

        assert needs_recheck(self._seen("failed", 3, 0.96))
        assert needs_recheck(self._seen("aborted", 1, SATURATED))
        assert not needs_recheck(self._seen("failed", 0, 0.99))  # it ran alone
        assert not needs_recheck(self._seen("failed", 3, SATURATED - 0.01))
        assert not needs_recheck(self._seen("failed", 3, None))
        assert not needs_recheck(self._seen("passed", 3, 0.99))
        assert not needs_recheck(self._seen("not-judged", 3, 0.99))

    def test_the_run_alone_counts_and_the_first_is_kept(self) -> None:
        from chaosrun.suite.recheck import settle

        first = self._seen("failed", 3, 0.96)
        alone = ExperimentResult("x.yaml", "X", OWN_LAB, state="passed", verdict="passed")
        settled = settle(first, alone)
        assert settled.state == "passed"
        assert settled.reason == (
            "passed when run alone; first run not-steady alongside 3 other experiment(s) "
            "with the host CPU 96% busy: p99 900 ms"
        )
        assert settled.first_attempt is not None and settled.first_attempt["state"] == "failed"
        again = replace(alone, state="failed", verdict="failed", reason="breaker never opened")
        confirmed = settle(first, again)
        assert confirmed.state == "failed"
        assert confirmed.reason.startswith("breaker never opened (confirmed alone; first run")  # type: ignore[union-attr]
        cut = settle(first, replace(alone, state="interrupted"))
        assert cut.state == "failed" and cut.reason == "p99 900 ms; its run alone was interrupted"


def test_busy_share_of_all_cores() -> None:
    from chaosrun.suite.hostcpu import busy_share, cpu_ticks

    assert busy_share((100, 1000), (190, 1100)) == pytest.approx(0.9)
    assert busy_share((100, 1000), (100, 1000)) is None
    assert busy_share(None, (1, 2)) is None
    now = cpu_ticks()
    assert now is not None and 0 <= now[0] <= now[1]


def test_unknown_verdicts_fail_and_errors_keep_their_words() -> None:
    queued = ExperimentResult("x.yaml", "X", OWN_LAB, state="running", started_at=1.0)
    odd = result_from_child(queued, 1, {"verdict": "strange"}, 2.0)
    assert odd.state == "failed"
    bare = result_from_child(queued, 3, {"schema": "chaosrun/error", "error": {}}, 2.0)
    assert (bare.state, bare.reason) == ("error", "error")
    cut = result_from_child(queued, 130, {"schema": "chaosrun/error", "error": {}}, 2.0)
    assert cut.state == "interrupted"


def test_not_judged_outranks_an_abort() -> None:
    assert suite_exit_code([_result("not-judged"), _result("aborted")]) == 1


def test_a_result_as_json() -> None:
    result = ExperimentResult(
        "x.yaml", "X", OWN_LAB, state="passed", verdict="passed", started_at=1.0,
        ended_at=2.12345, summary={"recovery": {}, "rto_objective_s": 6}, admission={"a": 1},
        alongside=2, host_cpu_busy=0.98765, first_attempt={"state": "failed"},
    )  # fmt: skip
    data = result.to_dict()
    assert data["duration_s"] == 1.123 and data["recovery"] is None
    assert (data["admission"], data["first_attempt"]) == ({"a": 1}, {"state": "failed"})
    assert (data["alongside"], data["host_cpu_busy"], data["rto_objective_s"]) == (2, 0.988, 6.0)
    empty = ExperimentResult("y.yaml", "Y", OWN_LAB).to_dict()
    assert (empty["admission"], empty["first_attempt"], empty["duration_s"]) == (None, None, None)
    assert empty["host_cpu_busy"] is None


def test_counting_states() -> None:
    from chaosrun.suite.results import SuiteResult

    suite = SuiteResult((_result("passed"), _result("failed"), _result("passed")), 0.0, 1.0)
    assert (suite.count("passed"), suite.count("failed"), suite.count("error")) == (2, 1, 0)


def test_settle_without_a_busy_figure_and_after_a_skip() -> None:
    from chaosrun.suite.recheck import settle

    first = ExperimentResult("x.yaml", "X", OWN_LAB, state="failed", reason="slow", alongside=1)
    alone = ExperimentResult("x.yaml", "X", OWN_LAB, state="passed")
    assert "with the host CPU 0% busy" in str(settle(first, alone).reason)
    skipped = settle(first, replace(alone, state="skipped"))
    assert skipped.state == "failed" and skipped.reason == "slow; its run alone was skipped"
