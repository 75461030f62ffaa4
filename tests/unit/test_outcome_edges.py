"""chaosrun.checks.outcome at its edges: the defaults of each sentence, the branches of a probe's
miss, and the shapes of a journal chaoslib may write (pinned against surviving mutants)."""

from __future__ import annotations

import dataclasses
from typing import Any

from chaosrun.checks.outcome import (
    RunFacts,
    _short,
    _status,
    activity_error,
    facts_from_journal,
    judge_run,
    probe_miss,
    tolerance_text,
)

FACTS = RunFacts(
    status="completed",
    before="met",
    method="ok",
    after="met",
    rollbacks="ok",
    measured_verdicts=0,
    failed_verdicts=(),
    measurement_trusted=True,
)


def _cause(**changes: Any) -> tuple[str, str | None]:
    verdict = judge_run(dataclasses.replace(FACTS, **changes))
    return verdict.verdict, verdict.cause


def test_an_interruption_or_abort_without_a_reason_says_what_it_was() -> None:
    assert _cause(status="interrupted") == ("interrupted", "interrupted by the user")
    assert _cause(status="aborted") == ("aborted", "aborted")
    assert _cause(status="aborted", reason="stop condition") == ("aborted", "stop condition")


def test_the_first_failed_or_unjudged_verdict_is_the_cause_and_the_rest_are_counted() -> None:
    assert _cause(measured_verdicts=2, failed_verdicts=("a: x",)) == (
        "failed",
        "resilience verdict failed: a: x",
    )
    assert _cause(measured_verdicts=3, failed_verdicts=("a: x", "b: y", "c: z")) == (
        "failed",
        "resilience verdict failed: a: x (and 2 more)",
    )
    assert _cause(measured_verdicts=1, unjudged_verdicts=("a: needs x",)) == (
        "not-judged",
        "a resilience verdict could not be judged: a: needs x",
    )
    assert _cause(measured_verdicts=2, unjudged_verdicts=("a: needs x", "b: needs y")) == (
        "not-judged",
        "a resilience verdict could not be judged: a: needs x (and 1 more)",
    )


def test_a_run_verdict_as_a_mapping() -> None:
    assert judge_run(FACTS).to_dict() == {"verdict": "passed", "exit_code": 0, "cause": None}


def test_a_verdict_from_before_not_judged_existed_reads_from_passed() -> None:
    assert [_status({"passed": True}), _status({"passed": False}), _status({})] == [
        "passed",
        "failed",
        "failed",
    ]
    assert _status({"status": "not-judged", "passed": False}) == "not-judged"


def _journal(**parts: Any) -> dict[str, Any]:
    journal: dict[str, Any] = {"status": "completed", "experiment": {"method": [{}]}}
    journal.update(parts)
    return journal


HYPOTHESIS = {"steady-state-hypothesis": {"probes": [{"name": "p"}]}, "method": [{}]}


def test_a_hypothesis_that_never_ran_is_not_run_and_none_at_all_is_absent() -> None:
    facts = facts_from_journal(_journal(experiment=HYPOTHESIS, run=[]))
    assert (facts.before, facts.method, facts.after) == ("not-run", "not-run", "not-run")
    facts = facts_from_journal(_journal(run=[{"status": "succeeded"}]))
    assert (facts.before, facts.method, facts.after) == ("absent", "ok", "absent")


def test_an_empty_method_ran_though_no_activity_did() -> None:
    assert facts_from_journal(_journal(experiment={"method": []}, run=[])).method == "ok"
    assert facts_from_journal(_journal(experiment={}, run=[])).method == "not-run"


def test_a_hypothesis_chaoslib_called_unmet_with_every_probe_in_tolerance() -> None:
    states = {
        "before": {"steady_state_met": True, "probes": []},
        "after": {"steady_state_met": False, "probes": []},
    }
    facts = facts_from_journal(
        _journal(experiment=HYPOTHESIS, steady_states=states, run=[{"status": "succeeded"}])
    )
    assert (facts.before, facts.before_detail) == ("met", "")
    assert (facts.after, facts.after_detail) == ("not-met", "a probe was not in its tolerance")


def test_a_failed_step_without_type_or_exception_still_reads() -> None:
    runs = [{"status": "skipped"}, {"status": "failed", "activity": {"name": "kick"}}]
    facts = facts_from_journal(_journal(run=runs))
    assert (facts.method, facts.method_detail) == (
        "failed",
        "activity 'kick' failed: no error recorded",
    )


def test_a_worker_reason_that_is_not_text_is_no_reason() -> None:
    journal = _journal(status="aborted", chaosrun={"worker": {"reason": 5}})
    assert facts_from_journal(journal).reason is None
    journal = _journal(status="aborted", chaosrun={"worker": {"reason": "deadline"}})
    assert facts_from_journal(journal).reason == "deadline"


def test_an_exception_of_blank_lines_is_an_empty_line() -> None:
    assert activity_error([" \n  "]) == ""
    assert activity_error([]) is None


def _miss(tolerance: object, output: object) -> str:
    return probe_miss(
        {"activity": {"name": "p", "tolerance": tolerance}, "output": output, "status": "x"}
    )


def test_a_miss_on_an_http_status_names_the_status() -> None:
    assert (
        _miss(200, {"status": 503, "body": "x"})
        == "probe 'p' gave status 503, tolerance: equal to 200"
    )
    assert _miss([200, 204], {"status": 503}) == (
        "probe 'p' gave status 503, tolerance: one of 200, 204"
    )


def test_a_status_is_not_what_a_non_status_tolerance_reads() -> None:
    # A boolean or mixed list is no status tolerance: the whole output is shown.
    assert (
        _miss(True, {"status": 503}) == "probe 'p' gave {'status': 503}, tolerance: equal to true"
    )
    assert _miss([200, "x"], {"status": 503}) == (
        "probe 'p' gave {'status': 503}, tolerance: one of 200, x"
    )


def test_a_miss_on_outputs_of_other_shapes_shows_the_output() -> None:
    assert _miss(200, "boom") == "probe 'p' gave boom, tolerance: equal to 200"
    assert _miss({"type": "range", "range": [0, 1]}, "text") == (
        "probe 'p' gave text, tolerance: between 0 and 1"
    )
    assert _miss({"type": "range", "range": [0, 1], "target": "p99_ms"}, ["p99_ms"]) == (
        "probe 'p' gave ['p99_ms'], tolerance: between 0 and 1 (on p99_ms)"
    )
    assert _miss({"type": "range", "range": [0, 1]}, {"a": 1}) == (
        "probe 'p' gave {'a': 1}, tolerance: between 0 and 1"
    )
    assert _miss({"type": "range", "range": [0, 1]}, 12.5) == (
        "probe 'p' gave 12.5, tolerance: between 0 and 1"
    )


def test_tolerances_of_unusual_shapes_in_words() -> None:
    assert tolerance_text({"type": "range", "range": "ab"}) == "{'type': 'range', 'range': 'ab'}"
    assert tolerance_text({"type": "range", "range": None}) == "{'type': 'range', 'range': None}"
    assert tolerance_text({"type": "jsonpath", "path": "$.a"}) == "jsonpath $.a"
    assert tolerance_text({"type": "jsonpath", "path": "$.a", "expect": 3}) == "jsonpath $.a = 3"
    assert tolerance_text({"type": "weird"}) == "{'type': 'weird'}"
    assert tolerance_text("ok") == "equal to 'ok'"


def test_long_values_are_cut_to_the_limit_with_an_ellipsis() -> None:
    assert _short("x" * 60) == "x" * 60
    assert _short("x" * 61) == "x" * 59 + "…"
    assert _short("abcdef", limit=4) == "abc…"
    assert _short(0.5) == "0.5"
