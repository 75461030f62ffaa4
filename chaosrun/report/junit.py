"""A suite as JUnit XML (pure): one <testsuite> per experiment, one <testcase> per verdict.

Shaped as Jenkins (junit plugin) and GitHub Actions JUnit reporters display it: the classname
is `chaosrun.<file stem>` (package `chaosrun`, class the experiment), each testcase is one
thing that was judged, a failure says what was observed against what was expected, a verdict
that could not be judged is <skipped> with its reason (never a pass), and a run that did not
start or was cut short is an <error>. Validated against the Jenkins/Surefire junit-10.xsd in
tests/unit/test_junit.py.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaosrun.suite.results import ExperimentResult, SuiteResult

__all__ = ["junit_xml"]

_RUN_CASE = "run verdict"
_ERROR_STATES = {"error", "interrupted", "aborted"}


def _seconds(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


def _iso(ts: float | None) -> str:
    moment = datetime.fromtimestamp(ts or 0.0, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _case(suite: ET.Element, classname: str, name: str, seconds: float | None = 0.0) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", {"classname": classname, "name": name, "time": _seconds(seconds)}
    )


def _outcome(case: ET.Element, kind: str, message: str, text: str | None = None) -> None:
    element = ET.SubElement(case, kind, {"message": message, "type": kind})
    if text:
        element.text = text


def _check_case(suite: ET.Element, classname: str, check: Mapping[str, Any]) -> None:
    case = _case(suite, classname, str(check.get("check")))
    status = check.get("status")
    expected, observed = check.get("expected"), check.get("observed")
    if status == "not-judged":
        _outcome(case, "skipped", str(observed))
    elif status != "passed":
        message = f"observed {observed}; expected {expected}"
        account = check.get("account")
        text = f"expected: {expected}\nobserved: {observed}"
        text += f"\nthe service's own account: {account}" if account else ""
        _outcome(case, "failure", message, text)


def _steady_cases(suite: ET.Element, classname: str, result: ExperimentResult) -> None:
    steady = (result.summary or {}).get("steady_state") or {}
    for phase, label in (("before", "before injection"), ("after", "after the method")):
        met = steady.get(phase)
        if met is None:
            continue
        case = _case(suite, classname, f"steady-state hypothesis {label}")
        if met is False:
            _outcome(case, "failure", str(result.reason or f"not met {label}"))


def _run_case(suite: ET.Element, classname: str, result: ExperimentResult) -> None:
    case = _case(suite, classname, _RUN_CASE, result.duration_s)
    reason = result.reason or result.state
    if result.state == "skipped":
        _outcome(case, "skipped", reason)
    elif result.state in _ERROR_STATES:
        _outcome(case, "error", f"{result.state}: {reason}")
    elif result.state != "passed":
        _outcome(case, "failure", f"{result.verdict or result.state}: {reason}")
    lines = [f"file: {result.file}", f"state: {result.state}"]
    if result.verdict:
        lines.append(f"verdict: {result.verdict}")
    for key, value in result.recovery.items():
        if value is not None:
            lines.append(f"recovery.{key}: {value}")
    if result.run_dir:
        lines.append(f"run directory: {result.run_dir}")
    ET.SubElement(case, "system-out").text = "\n".join(lines)


def _experiment_suite(root: ET.Element, result: ExperimentResult, hostname: str) -> None:
    classname = f"chaosrun.{Path(result.file).stem}"
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": result.title,
            "file": result.file,
            "timestamp": _iso(result.started_at),
            "hostname": hostname,
            "time": _seconds(result.duration_s),
        },
    )
    if result.state not in ("skipped", "error"):
        _steady_cases(suite, classname, result)
        for check in result.checks:
            _check_case(suite, classname, check)
    _run_case(suite, classname, result)
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for kind, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(1 for c in cases if c.find(kind) is not None)))


def junit_xml(suite: SuiteResult, name: str = "chaosrun suite", hostname: str | None = None) -> str:
    root = ET.Element(
        "testsuites", {"name": name, "time": _seconds(suite.ended_at - suite.started_at)}
    )
    host = hostname or socket.gethostname()
    for result in suite.results:
        _experiment_suite(root, result, host)
    for attribute in ("tests", "failures", "errors"):  # the schema has no skipped here
        total = sum(int(s.get(attribute) or 0) for s in root.findall("testsuite"))
        root.set(attribute, str(total))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
