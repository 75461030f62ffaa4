"""JUnit XML and Markdown of a suite: valid against the Jenkins/Surefire JUnit schema, one
testcase per verdict, failures saying observed against expected, "not judged" as skipped.

tests/fixtures/junit-10.xsd is the schema Jenkins' xunit plugin publishes (MIT, Gregory
Boissinot), as pytest ships it for its own --junitxml tests (pytest 8.3.4 sdist,
testing/example_scripts/junit-10.xsd)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lxml import etree

from chaosrun.report.junit import junit_xml
from chaosrun.report.markdown import suite_markdown
from chaosrun.suite.collect import OWN_LAB
from chaosrun.suite.results import ExperimentResult, SuiteResult

XSD = Path(__file__).parents[1] / "fixtures" / "junit-10.xsd"


def _run(verdict: str, checks: list[dict[str, object]], reason: str | None = None) -> dict:
    return {
        "verdict": verdict,
        "reason": reason,
        "checks": checks,
        "steady_state": {"before": True, "after": verdict != "deviated"},
        "recovery": {"rto_s": 1.234, "ttd_s": 0.05, "state": "recovered"},
        "run_dir": "/tmp/nowhere",
    }


def _suite() -> SuiteResult:
    rto = {
        "check": "recovery.rto",
        "status": "passed",
        "expected": "recovered within 2.0 s of injection",
        "observed": "recovered 1.234 s after injection",
    }
    opens = {
        "check": "circuit_breaker.opens",
        "status": "failed",
        "expected": "opens within 2 s",
        "observed": "never stopped calling catalog",
        "account": "the service says it opened at +0.4 s",
    }
    unjudged = {
        "check": "bulkhead.isolates",
        "status": "not-judged",
        "expected": "isolated",
        "observed": "not judged: needs a recording of catalog",
    }
    base = {"lane": OWN_LAB, "started_at": 1000.0, "ended_at": 1010.5}
    results = (
        ExperimentResult(
            "experiments/a.yaml", "A <ok>", state="passed", verdict="passed",
            checks=(rto,), summary=_run("passed", [rto]), **base,
        ),
        ExperimentResult(
            "experiments/b.yaml", "B & co", state="failed", verdict="failed",
            reason="resilience verdict failed: circuit_breaker.opens", checks=(rto, opens),
            summary=_run("failed", [rto, opens]), **base,
        ),
        ExperimentResult(
            "experiments/c.yaml", "C", state="not-judged", verdict="not-judged",
            reason="a resilience verdict could not be judged", checks=(unjudged,),
            summary=_run("not-judged", [unjudged]), **base,
        ),
        ExperimentResult(
            "experiments/d.yaml", "D", state="skipped",
            reason="not admitted: 104% of the error budget is spent", **base,
        ),
        ExperimentResult(
            "experiments/e.yaml", "E", state="error", exit_code=3,
            reason="the lab could not be started", **base,
        ),
    )  # fmt: skip
    return SuiteResult(results, 1000.0, 1031.0)


@pytest.fixture(scope="module")
def junit() -> ET.Element:
    return ET.fromstring(junit_xml(_suite(), hostname="ci"))


def test_valid_against_the_junit_schema() -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(junit_xml(_suite(), hostname="ci").encode())
    assert schema.validate(document), schema.error_log


def test_the_schema_refuses_what_jenkins_would_not_read() -> None:
    """The validation is not vacuous: a testcase without a name is refused."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    broken = junit_xml(_suite(), hostname="ci").replace(' name="recovery.rto"', "", 1)
    assert not schema.validate(etree.fromstring(broken.encode()))


def test_one_suite_per_experiment_one_case_per_verdict(junit: ET.Element) -> None:
    suites = junit.findall("testsuite")
    assert [s.get("file") for s in suites] == [f"experiments/{x}.yaml" for x in "abcde"]
    names = [c.get("name") for c in suites[1].findall("testcase")]
    assert names == [
        "steady-state hypothesis before injection",
        "steady-state hypothesis after the method",
        "recovery.rto",
        "circuit_breaker.opens",
        "run verdict",
    ]
    assert {c.get("classname") for c in suites[1]} == {"chaosrun.b"}
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("15", "3", "1")


def test_a_failure_says_observed_against_expected(junit: ET.Element) -> None:
    case = junit.find(
        "testsuite[@file='experiments/b.yaml']/testcase[@name='circuit_breaker.opens']"
    )
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert (
        failure.get("message")
        == "observed never stopped calling catalog; expected opens within 2 s"
    )
    assert "the service's own account: the service says it opened" in (failure.text or "")
    run = junit.find("testsuite[@file='experiments/b.yaml']/testcase[@name='run verdict']")
    assert run is not None and run.find("failure") is not None
    assert run.get("time") == "10.500"


def test_not_judged_is_skipped_with_its_reason_never_a_pass(junit: ET.Element) -> None:
    suite = junit.find("testsuite[@file='experiments/c.yaml']")
    assert suite is not None
    skipped = suite.find("testcase[@name='bulkhead.isolates']/skipped")
    assert skipped is not None
    assert skipped.get("message") == "not judged: needs a recording of catalog"
    assert suite.find("testcase[@name='run verdict']/failure") is not None
    assert suite.get("skipped") == "1"


def test_not_admitted_is_skipped_and_no_target_is_an_error(junit: ET.Element) -> None:
    skipped = junit.find("testsuite[@file='experiments/d.yaml']/testcase/skipped")
    assert skipped is not None and "error budget" in str(skipped.get("message"))
    error = junit.find("testsuite[@file='experiments/e.yaml']/testcase/error")
    assert error is not None and error.get("message") == "error: the lab could not be started"


def test_markdown_summary() -> None:
    text = suite_markdown(_suite(), ["/r/report.html"])
    assert text.startswith("## chaosrun suite: not passed (exit code 1)\n")
    assert (
        "| 1 | ✅ passed | `a.yaml` | 0.05 s | 1.23 s | recovered within 2.0 s of injection |"
        in text
    )
    assert "  - `circuit_breaker.opens` failed: observed never stopped calling catalog;" in text
    assert "  - `bulkhead.isolates` not-judged:" in text
    assert "**4. D** — not admitted: 104% of the error budget is spent" in text
    assert "`/r/report.html`" in text
    assert "A <ok>" not in text.split("### Not passed")[1]  # a passed run is not listed
