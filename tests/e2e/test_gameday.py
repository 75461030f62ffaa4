"""Game days as people run them: a rehearsal end to end with its report; the interactive session
driven on a real 80-column terminal (tmux send-keys) with observations, marks, an action and an
abort mid-scenario; a session killed with SIGKILL mid-scenario, then resumed; the observers'
page in headless chromium."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.gameday.observer import Feed, ObserverServer
from chaosrun.gameday.timeline import Timeline, read_events
from chaosrun.lab.toxiproxy import ToxiproxyClient

from .browser import render, render_address
from .conftest import CHAOSRUN, REPO, run_cli
from .terminal import Terminal

PLAN = """\
title: Test game day
date: "2026-12-10"
facilitator: Ana
roles: {{incident_commander: Bo, observers: [Dee]}}
objectives: [see the breaker work]
checklist: [stakeholders told]
scenarios:
  - name: {first}
    experiment: {first_file}
    briefing: the first scenario
    hypothesis: it holds
    signals: [breaker opens]
    rto_target_s: 6
    abort_criteria: [anything odd]
    rollback: chaosrun reverts it
  - name: dependency-down
    experiment: {second_file}
    briefing: the second scenario
    hypothesis: browsing keeps its SLO
    signals: [fallbacks]
    rto_target_s: 5
    abort_criteria: [errors]
    rollback: chaosrun reverts it
"""


def _plan(tmp_path: Path, first: str, first_file: Path) -> Path:
    path = tmp_path / "plan.yaml"
    second = REPO / "experiments" / "dependency-failure.yaml"
    path.write_text(PLAN.format(first=first, first_file=first_file, second_file=second))
    return path


def _session(home: Path) -> Path:
    (found,) = list((home / "gamedays").iterdir())
    return found


def _events(session: Path) -> list[str]:
    return [e["event"] for e in read_events(session / "timeline.jsonl")]


@pytest.fixture
def lab_home(tmp_path: Path) -> Iterator[Path]:
    """A running lab: the scenarios use it, and the test watches its Toxiproxy."""
    home = tmp_path / "home"
    up = run_cli(home, "lab", "up")
    assert up.returncode == 0, up.stderr
    yield home
    run_cli(home, "lab", "down")


def _toxiproxy(home: Path) -> ToxiproxyClient:
    status = json.loads(run_cli(home, "lab", "status", "--json").stdout)
    return ToxiproxyClient(status["toxiproxy_url"])


def _wait_clean(client: ToxiproxyClient, timeout_s: float) -> float:
    started = time.monotonic()
    while any(p.toxics or not p.enabled for p in client.proxies().values()):
        assert time.monotonic() - started < timeout_s, "faults still in place"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_rehearsal_runs_every_scenario_and_leaves_a_report(tmp_path: Path) -> None:
    probe = REPO / "tests" / "e2e" / "experiments" / "probe-only.yaml"
    plan = _plan(tmp_path, "probe", probe)
    home = tmp_path / "home"
    done = run_cli(home, "gameday", "run", str(plan), "--rehearsal", timeout=180)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "observers: http://127.0.0.1:" in done.stdout
    session = _session(home)
    events = _events(session)
    assert events[0] == "session-started" and events[-1] == "session-ended"
    assert events.count("scenario-ended") == 2 and events.count("checklist-confirmed") == 1
    report = run_cli(home, "gameday", "report", str(session))
    assert report.returncode == 0, report.stderr
    markdown = (session / "report.md").read_text()
    assert "| dependency-down | passed |" in markdown
    assert "- Facilitator (Ana): ____" in markdown and "Incident commander (Bo)" in markdown
    page = render(session / "report.html", tmp_path / "report.png")
    assert page.console == () and page.attribute("data-errors") is None


def test_the_facilitator_types_marks_and_aborts_mid_scenario(
    tmp_path: Path, lab_home: Path
) -> None:
    plan = _plan(tmp_path, "latency-spike", REPO / "experiments" / "latency-injection.yaml")
    client = _toxiproxy(lab_home)
    env = {"CHAOSRUN_HOME": str(lab_home)}
    with Terminal([*CHAOSRUN, "gameday", "run", str(plan)], rows=40, env=env) as term:
        term.wait_for("go/no-go 1/1", 60)
        term.send_keys("go", "Enter")
        term.wait_for("inject now?", 30)
        term.send_keys("inject", "Enter")
        term.wait_for("latency on catalog", 60)
        for line in ("p99 spike on the dashboard", "!d", "!action Bo: alert on fallback rate"):
            term.send_keys(line, "Enter")
        term.wait_for("s in, not mitigated", 10)
        term.send_keys("!a", "Enter")
        reverted_s = _wait_clean(client, 5)
        term.wait_for("the run ended", 60)
        screen = term.screen()
        assert not screen.too_wide(), screen.too_wide()
        term.send_keys("!n", "Enter")
        term.wait_for("scenario 2/2: dependency-down", 30)
        term.send_keys("stop", "Enter")
        final = term.wait(60)
    assert final.status == 1, final.text
    print(f"abort typed -> faults reverted in {reverted_s:.3f} s")  # shown with -s
    session = _session(lab_home)
    events = read_events(session / "timeline.jsonl")
    kinds = [e["event"] for e in events]
    for kind in ("observation", "detected", "action", "abort-requested", "scenario-ended"):
        assert kind in kinds, kinds
    ended = next(e for e in events if e["event"] == "scenario-ended")
    assert ended["state"] == "aborted"
    assert kinds[-1] == "session-ended" and events[-1]["state"] == "stopped"
    run_cli(lab_home, "gameday", "report", str(session))
    markdown = (session / "report.md").read_text()
    assert "| latency-spike | aborted |" in markdown
    assert "p99 spike on the dashboard" in markdown
    assert "| Bo | alert on fallback rate | latency-spike |" in markdown


def test_a_killed_session_leaves_nothing_injected_and_resumes(
    tmp_path: Path, lab_home: Path
) -> None:
    plan = _plan(tmp_path, "latency-spike", REPO / "experiments" / "latency-injection.yaml")
    client = _toxiproxy(lab_home)
    env = {"CHAOSRUN_HOME": str(lab_home)}
    with Terminal([*CHAOSRUN, "gameday", "run", str(plan)], rows=40, env=env) as term:
        term.wait_for("go/no-go 1/1", 60)
        term.send_keys("go", "Enter")
        term.wait_for("inject now?", 30)
        term.send_keys("inject", "Enter")
        term.wait_for("latency on catalog", 60)
        owner = json.loads((_session(lab_home) / "session.json").read_text())
        os.kill(owner["pid"], signal.SIGKILL)
        restored_s = _wait_clean(client, 15)
        term.wait(30)
    print(f"session SIGKILLed -> faults reverted in {restored_s:.3f} s")  # shown with -s
    with Terminal([*CHAOSRUN, "gameday", "run", str(plan)], rows=40, env=env) as term:
        screen = term.wait_for("inject now?", 60)
        assert "resuming the session in" in screen.flat()
        assert "go/no-go" not in screen.text  # the checklist was confirmed before the kill
        assert "scenario 1/2: latency-spike" in screen.flat()
        term.send_keys("skip", "Enter")
        term.wait_for("scenario 2/2: dependency-down", 30)
        term.send_keys("stop", "Enter")
        term.wait(60)
    events = _events(_session(lab_home))
    assert events.count("session-started") == 1 and "session-resumed" in events
    assert events.index("scenario-lost") > events.index("scenario-started")
    assert "scenario-skipped" in events


def test_the_observers_page_shows_the_session(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path)
    timeline.append("session-started", plan="p.yaml")
    timeline.append("observation", scenario="latency-spike", text="breaker opened on the board")
    feed = Feed("Test game day")
    series = [[1_796_000_000.0 + i, 1.0 if i < 5 else 0.9, 8.0 + i] for i in range(10)]
    feed.update(
        scenario={"name": "latency-spike", "title": "Catalog slowed", "number": 1,
                  "status": "running"},
        live={"faults": ["latency on catalog"], "availability": 0.95, "p99_ms": 320.0,
              "degraded": 0.4, "series": series},
    )  # fmt: skip
    server = ObserverServer(feed, tmp_path).start()
    try:
        import urllib.error
        import urllib.request

        with urllib.request.urlopen(f"{server.url}state", timeout=5) as response:
            state = json.loads(response.read())
        assert state["scenario"]["name"] == "latency-spike" and len(state["log"]) == 1
        request = urllib.request.Request(f"{server.url}state", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 405
        rendered = render_address(server.url, tmp_path / "observer.png")
    finally:
        server.stop()
    assert rendered.console == () and rendered.attribute("data-errors") is None
    assert rendered.attribute("data-updated") is not None
    for text in ("1. latency-spike - Catalog slowed", "latency on catalog", "95.0 %",
                 "breaker opened on the board"):  # fmt: skip
        assert text in rendered.dom, text
    assert 'class="main-svg"' in rendered.dom
