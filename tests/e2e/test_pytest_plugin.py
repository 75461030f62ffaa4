"""The pytest plugin in a project of its own (pytester, a real pytest subprocess): experiment
files as items, one result per verdict, fixtures, and pytest's own -n and --junitxml."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import REPO

pytest_plugins = ["pytester"]

HEALTHY = (REPO / "experiments" / "latency-injection.yaml").read_text()
FIXTURE_TEST = """
def test_recovery_within_objective(chaosrun_run):
    result = chaosrun_run("experiments/latency-injection.yaml")
    assert result.passed, result.reason
    assert result.rto_s is not None and result.rto_s < 6
    assert result.verdicts["circuit_breaker.opens"].passed
"""


def _project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOSRUN_HOME", str(pytester.path / "home"))
    experiments = pytester.mkdir("experiments")
    (experiments / "latency-injection.yaml").write_text(HEALTHY)
    broken = HEALTHY.replace("lab: {variant: healthy}", "lab: {variant: no-breaker}")
    (experiments / "latency-no-breaker.yaml").write_text(broken)
    (experiments / "compose.yml").write_text("services: {web: {image: nginx}}\n")
    return experiments


def test_items_per_verdict_and_where_they_are_collected(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester, monkeypatch)
    listed = pytester.runpytest_subprocess("experiments/", "--collect-only", "-q")
    names = [line for line in listed.outlines if "::" in line]
    healthy = [n.split("::")[1] for n in names if "latency-injection.yaml" in n]
    assert healthy == [
        "steady_state[before]",
        "steady_state[after]",
        "recovery.rto",
        "recovery.ttd",
        "circuit_breaker.opens",
        "circuit_breaker.fails_fast",
        "circuit_breaker.stops_traffic",
        "circuit_breaker.half_opens",
        "circuit_breaker.closes",
        "circuit_breaker.sequence",
        "run_verdict",
    ]
    assert len(names) == 22 and not any("compose.yml" in n for n in names)
    # Not named, not listed in the ini: a plain `pytest` runs no experiment by surprise.
    pytester.makepyfile(test_unit="def test_one():\n    assert True\n")
    plain = pytester.runpytest_subprocess("--collect-only", "-q")
    assert [line for line in plain.outlines if "::" in line] == ["test_unit.py::test_one"]
    pytester.makeini("[pytest]\nchaosrun_experiments = experiments\n")
    listed_by_ini = pytester.runpytest_subprocess("--collect-only", "-q")
    assert len([line for line in listed_by_ini.outlines if "::" in line]) == 23


def test_an_invalid_experiment_is_one_collection_error_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiments = _project(pytester, monkeypatch)
    (experiments / "bad.yaml").write_text(HEALTHY.replace("deadline_s: 60", "deadlin_s: 60"))
    result = pytester.runpytest_subprocess("experiments/bad.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*experiments/bad.yaml:*deadlin_s*did you mean 'deadline_s'*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.matrix
def test_a_session_runs_each_experiment_once_with_xdist_and_junit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester, monkeypatch)
    pytester.makepyfile(test_fixtures=FIXTURE_TEST)
    result = pytester.runpytest_subprocess(
        "experiments/", "test_fixtures.py", "-n", "2", "--junitxml=junit.xml", timeout=300
    )
    result.assert_outcomes(passed=16, failed=7)
    result.stdout.fnmatch_lines(
        [
            "*_ latency-no-breaker.yaml::circuit_breaker.opens _*",
            "observed breaker never opened (0 transitions)*; expected catalog breaker opens*",
        ]
    )
    runs = list((pytester.path / "home" / "runs").iterdir())
    assert len(runs) == 2  # the fixture's run is the collected items' run
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    suite = junit if junit.tag == "testsuite" else junit.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("23", "7")
