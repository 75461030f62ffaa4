"""`chaosrun suite` as a nightly job runs it: real experiments in parallel on labs of their own,
its exit code, JUnit XML, Markdown, and the HTML report in a real headless browser; an invalid
file refuses the suite; Ctrl-C, SIGTERM or SIGKILL of the suite leave nothing behind."""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pytest
from lxml import etree

from chaosrun.history.store import HistoryRow, append_run
from chaosrun.lab.toxiproxy import ToxiproxyClient

from .browser import ink_share, render
from .conftest import REPO, run_cli
from .external import external_target
from .killmatrix import EXPERIMENT, SUITE_KINDS, run_suite_trial

XSD = REPO / "tests" / "fixtures" / "junit-10.xsd"
ARTIFACTS = REPO / ".artifacts"


def _variant_copy(source: Path, variant: str, directory: Path) -> Path:
    text = source.read_text()
    assert "lab: {variant: healthy}" in text
    copy = directory / f"{source.stem}-{variant}.yaml"
    copy.write_text(text.replace("lab: {variant: healthy}", f"lab: {{variant: {variant}}}"))
    return copy


@pytest.mark.matrix
def test_a_parallel_suite_judges_each_experiment_and_reports_it(tmp_path: Path) -> None:
    broken = _variant_copy(REPO / "experiments" / "latency-injection.yaml", "no-breaker", tmp_path)
    healthy = REPO / "experiments" / "latency-injection.yaml"
    out = tmp_path / "out"
    home = tmp_path / "home"
    _seed_history(home, "latency-injection.yaml", rto_s=0.5, nights=4)
    started = time.monotonic()
    result = run_cli(
        home,
        "suite",
        str(healthy),
        str(broken),
        "--parallel",
        "2",
        "--json",
        "--junit",
        str(out / "junit.xml"),
        "--html",
        str(out / "report.html"),
        "--markdown",
        str(out / "summary.md"),
        timeout=240,
    )
    wall = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    states = [(Path(r["file"]).name, r["state"]) for r in doc["results"]]
    assert states == [
        ("latency-injection.yaml", "passed"),
        ("latency-injection-no-breaker.yaml", "failed"),
    ]
    first, second = doc["results"]
    assert second["started_at"] < first["ended_at"], "the two did not run side by side"
    assert wall < first["duration_s"] + second["duration_s"], "no time saved by --parallel 2"
    assert first["recovery"]["rto_s"] <= first["rto_objective_s"]
    failed = {c["check"] for c in second["checks"] if c["status"] == "failed"}
    assert "circuit_breaker.opens" in failed
    # Both runs are in the history; each RTO (~3 s) regresses against the seeded 0.5 s nights.
    assert [r.startswith("latency-injection.yaml: RTO ") for r in doc["regressions"]] == [True]
    assert "is worse than the median 0.5 s of its last 4 runs" in doc["regressions"][0]
    trends = json.loads(run_cli(home, "history", "--json").stdout)["experiments"]
    nights = trends["latency-injection.yaml"]
    assert [n["runs"] for n in nights] == [1, 1, 1, 1, 1] and nights[-1]["rto_s"] > 2
    assert trends["latency-injection-no-breaker.yaml"][0]["passed"] == 0

    junit = etree.parse(str(out / "junit.xml"))
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(junit), schema.error_log
    failure = junit.find(
        "testsuite[@file='" + str(broken) + "']/testcase[@name='circuit_breaker.opens']/failure"
    )
    assert failure is not None and failure.get("message", "").startswith("observed ")
    assert junit.getroot().get("failures") != "0"

    summary = (out / "summary.md").read_text()
    assert summary.startswith("## chaosrun suite: not passed (exit code 1)")
    assert "`circuit_breaker.opens` failed" in summary
    assert "### Regressions\n\n- latency-injection.yaml: RTO" in summary

    page = render(out / "report.html", ARTIFACTS / "suite-report.png")
    assert page.console == (), page.console
    assert page.attribute("data-errors") is None
    drawn = page.dom.count('class="plotly-graph-div')
    assert drawn == 4  # per experiment: the RTO against its objective, and the timeline
    assert page.attribute("data-charts") == str(drawn)
    assert page.dom.count('class="main-svg"') >= drawn
    ink, colours = ink_share(page.screenshot)
    assert ink > 0.05 and colours > 50, (ink, colours)


def _seed_history(home: Path, experiment: str, rto_s: float, nights: int) -> None:
    """Earlier nights of an experiment, one run each, a day apart, ending yesterday."""
    now = time.time()
    for night in range(nights, 0, -1):
        row = HistoryRow(
            experiment, "seeded", experiment, f"seed-{night}", None, now - night * 86400,
            10.0, "passed", 0, 0.01, rto_s, 6.0, 1000, 0, 0.99, 0.0,
        )  # fmt: skip
        append_run(home, row)


def test_the_report_check_sees_a_broken_page(tmp_path: Path) -> None:
    """The browser check is not vacuous: a script error and a missing chart are both seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script>window.addEventListener('error',function(e){"
        "document.documentElement.setAttribute('data-errors','1')});</script></head>"
        "<body><div class=\"plotly-graph-div\"></div><script>Plotly.newPlot('x')</script>"
        "</body></html>"
    )
    rendered = render(page, tmp_path / "broken.png", 400, 300)
    assert rendered.attribute("data-errors") == "1"
    assert any("Plotly is not defined" in line for line in rendered.console)
    ink, colours = ink_share(rendered.screenshot)
    assert ink < 0.01 and colours < 5


def test_one_invalid_file_and_nothing_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "experiments" / "dependency-failure.yaml").read_text() + "metod: []\n")
    home = tmp_path / "home"
    result = run_cli(home, "suite", str(REPO / "experiments"), str(bad), "--json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"chaosrun: {bad}:"), lines
    assert "metod" in lines[0] and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["schema"] == "chaosrun/error"
    assert not (home / "runs").exists()


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "suite", str(tmp_path / "nothing-here"))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"chaosrun: {tmp_path / 'nothing-here'}: no such file or directory"
    )


@pytest.mark.parametrize("kind", SUITE_KINDS)
def test_nothing_outlives_a_killed_suite(kind: str, tmp_path: Path) -> None:
    """Two kill-target runs side by side (faults in turn under load, each on its own lab)."""
    copies = []
    for name in ("one", "two"):
        copies.append(tmp_path / f"kill-{name}.yaml")
        shutil.copy(EXPERIMENT, copies[-1])
    delay = round(random.uniform(0.5, 4.0), 2)
    trial = run_suite_trial(kind, delay, tmp_path / "home", copies, parallel=2)
    where = f"{kind}, {delay} s after both runs began"
    assert trial.runs == 2, where
    assert trial.leftovers == [], where
    assert trial.journal_statuses == ["interrupted", "interrupted"], where
    if kind != "sigkill-suite":
        assert trial.exit_code == 130, where


SHARED_TARGET = """\
version: 1.0.0
title: {title}
description: slows the shared target's dependency for a second
extensions:
  - name: chaosrun
    target:
      service_url: {service_url}
      toxiproxy_url: {toxiproxy_url}
    deadline_s: 30
method:
  - type: action
    name: slow-down-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {{proxy: api, latency_ms: 200}}
    pauses: {{after: 1}}
"""


def test_experiments_sharing_an_explicit_target_run_one_at_a_time(tmp_path: Path) -> None:
    """Two experiments on one Toxiproxy and one on its own lab, --parallel 3: the two take
    turns (the lock would refuse the second), the third runs beside them."""
    with external_target(tmp_path / "target", 300) as target:
        files = []
        for name in ("first", "second"):
            files.append(tmp_path / f"{name}.yaml")
            files[-1].write_text(
                SHARED_TARGET.format(
                    title=name, service_url=target.service_url, toxiproxy_url=target.toxiproxy_url
                )
            )
        own = REPO / "tests" / "e2e" / "experiments" / "probe-only.yaml"
        result = run_cli(
            tmp_path / "home", "suite", *map(str, files), str(own), "--parallel", "3", "--json"
        )
        assert ToxiproxyClient(target.toxiproxy_url).proxies()["api"].toxics == ()
    assert result.returncode == 0, result.stderr
    first, second, alone = json.loads(result.stdout)["results"]
    assert [r["state"] for r in (first, second, alone)] == ["passed"] * 3
    assert first["lane"] == second["lane"] == f"target {target.toxiproxy_url}"
    assert second["started_at"] >= first["ended_at"], "the shared target was used by two runs"
    assert alone["started_at"] < first["ended_at"], "the own-lab run did not run beside them"
