"""Game-day plans: the shipped plan is valid, and every problem is one file:line line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chaosrun.gameday.console import parse_line
from chaosrun.gameday.plan import load_plan, plan_problems
from chaosrun.gameday.session import Command
from chaosrun.gameday.timeline import Timeline, read_events, replay

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "gamedays" / "quarterly-streaming.yaml"

GOOD = """\
title: T
date: "2026-12-10"
facilitator: Ana
roles: {incident_commander: Bo, observers: [Dee, Eli]}
objectives: [o]
checklist: [c1, c2]
scenarios:
  - name: down
    experiment: {experiment}
    briefing: b
    hypothesis: h
    signals: [s]
    rto_target_s: 5
    abort_criteria: [a]
    rollback: r
"""


def test_the_shipped_plan_has_the_four_scenarios() -> None:
    plan = load_plan(SHIPPED)
    assert [s.name for s in plan.scenarios] == [
        "dependency-down",
        "latency-spike",
        "database-failover",
        "region-outage",
    ]
    assert all(s.experiment.is_file() for s in plan.scenarios)
    assert plan.roles["observers"] == ("Dee Evans", "Eli Frank")
    assert len(plan.checklist) == 5 and plan.date == "2026-12-10"


def _plan(tmp_path: Path, text: str) -> Path:
    experiment = REPO / "experiments" / "dependency-failure.yaml"
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("{experiment}", str(experiment)))
    return path


def test_a_good_plan(tmp_path: Path) -> None:
    plan = load_plan(_plan(tmp_path, GOOD))
    (scenario,) = plan.scenarios
    assert scenario.rto_target_s == 5.0 and scenario.title.startswith("Recommendations down")
    assert plan.roles == {"incident_commander": ("Bo",), "observers": ("Dee", "Eli")}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("facilitator: Ana\n", "facilitatr: Ana\n"), [
            "plan.yaml:3: facilitatr: unknown key 'facilitatr'; did you mean 'facilitator'?",
        ]),
        (('date: "2026-12-10"', 'date: "10/12/2026"'), [
            "plan.yaml:2: date: expected a date as YYYY-MM-DD, got '10/12/2026'",
        ]),
        (("    rto_target_s: 5\n", "    rto_target_s: -1\n"), [
            "plan.yaml:13: scenarios[0].rto_target_s: expected a positive number, got -1",
        ]),
        (("    rollback: r\n", ""), [
            "plan.yaml:8: scenarios[0]: missing required key 'rollback'",
        ]),
        (("    signals: [s]\n", "    signal: [s]\n"), [
            "plan.yaml:12: scenarios[0].signal: unknown key 'signal'; did you mean 'signals'?",
        ]),
        (("checklist: [c1, c2]", "checklist: []"), [
            "plan.yaml:6: checklist: expected at least one entry",
        ]),
    ],
)  # fmt: skip
def test_each_problem_is_one_line(tmp_path: Path, change: tuple[str, str], said: list[str]) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    plan, problems = plan_problems(_plan(tmp_path, text))
    assert plan is None
    assert [str(p).removeprefix(f"{tmp_path}/") for p in problems] == said


def test_a_missing_or_invalid_experiment_is_named(tmp_path: Path) -> None:
    plan, problems = plan_problems(_plan(tmp_path, GOOD.replace("{experiment}", "nope.yaml")))
    assert plan is None and len(problems) == 1
    assert str(problems[0]).startswith(f"{tmp_path}/plan.yaml:9: scenarios[0].experiment: no ")
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nmethod: []\nmetod: 1\n")
    plan, problems = plan_problems(_plan(tmp_path, GOOD.replace("{experiment}", str(bad))))
    assert "is not valid: " in str(problems[0]) and f"{bad}:1: " in str(problems[0])


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("  ", None),
        (
            "breaker opened on the dashboard",
            Command("observation", "breaker opened on the dashboard"),
        ),
        ("!d", Command("detected")),
        ("!MITIGATED", Command("mitigated")),
        ("!a", Command("abort")),
        ("!n", Command("next")),
        ("!action Bo: alert on fallback rate", Command("action", "alert on fallback rate", "Bo")),
        ("!action write the runbook", Command("action", "write the runbook", "unassigned")),
    ],
)
def test_typed_lines(typed: str, command: Command | None) -> None:
    assert parse_line(typed) == command


def test_the_timeline_replays_into_where_a_session_stands(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path)
    timeline.append("session-started", plan="p.yaml", rehearsal=False)
    timeline.append("checklist-confirmed", item="c1")
    for name in ("a", "b"):
        timeline.append("scenario-briefed", scenario=name)
        timeline.append("scenario-started", scenario=name)
    timeline.append("observation", scenario="a", text="p99 up")
    timeline.append("detected", scenario="a")
    timeline.append("detected", scenario="a")  # only the first mark counts
    timeline.append("scenario-ended", scenario="a", state="passed", rto_s=1.2)
    with open(timeline.path, "a") as torn:
        torn.write('{"t": 1, "event": "observ')  # the process died mid-write
    events = read_events(timeline.path)
    assert len(events) == 10
    state = replay(events, ["a", "b", "c"])
    assert state.state == "running" and state.checklist == ["c1"]
    assert state.scenarios["a"].done and state.scenarios["a"].ended["rto_s"] == 1.2  # type: ignore[index]
    assert state.scenarios["a"].detected == events[7]["t"]
    assert state.unfinished() == ["b"]
    assert state.next_scenario(["a", "b", "c"]) == "b"
    timeline.append("scenario-lost", scenario="b")
    timeline.append("session-ended", state="completed")
    final = replay(read_events(timeline.path), ["a", "b", "c"])
    assert final.finished and final.scenarios["b"].status == "lost"


def test_the_report_puts_people_beside_the_measurement(tmp_path: Path) -> None:
    from chaosrun.gameday.report import load_session, session_markdown

    plan = _plan(tmp_path, GOOD)
    timeline = Timeline(tmp_path / "session")
    timeline.append("session-started", plan=str(plan), rehearsal=False)
    timeline.append("checklist-confirmed", item="c1")
    started = timeline.append("scenario-started", scenario="down")["t"]
    detected = timeline.append("detected", scenario="down")["t"]
    timeline.append("observation", scenario="down", text="fallbacks | on the board")
    timeline.append("action", scenario="down", owner="Bo", text="page on fallback rate")
    timeline.append(
        "scenario-ended", scenario="down", state="passed", verdict="passed", rto_s=4.5,
        ttd_s=0.01, run_dir=None, recovery="recovered",
    )  # fmt: skip
    timeline.append("session-ended", state="completed")
    session = load_session(tmp_path / "session")
    (figures,) = session.scenarios
    assert figures.human_ttd_s == pytest.approx(detected - started, abs=1e-3)
    assert figures.rto_met is True and figures.human_ttm_s is None
    text = session_markdown(session)
    assert "| down | passed | 4.50 s (met) | 5 s |" in text
    assert "| Bo | page on fallback rate | down |" in text
    assert "- Facilitator (Ana): ____" in text and "Observers" not in text.split("Sign-off")[1]


@pytest.mark.parametrize(
    ("status", "recovery", "rto", "text"),
    [
        ("passed", None, None, "-"),  # the experiment measures no SLO
        ("passed", "no-impact", None, "no SLO breach (met)"),
        ("failed", "not-recovered", None, "did not recover (MISSED)"),
        ("passed", "recovered", 4.0, "4.00 s (met)"),
        ("failed", "recovered", 7.0, "7.00 s (MISSED)"),
        ("lost", "recovered", 1.0, "-"),
        ("not run", None, None, "-"),
    ],
)
def test_rto_against_the_target(
    tmp_path: Path, status: str, recovery: str | None, rto: float | None, text: str
) -> None:
    from chaosrun.gameday.report import ScenarioFigures

    (scenario,) = load_plan(_plan(tmp_path, GOOD)).scenarios  # rto_target_s: 5 -> 6 below
    scenario = replace(scenario, rto_target_s=6.0)
    figures = ScenarioFigures(
        scenario, status, None, None, None, rto, None, None, None, None, recovery, (), ()
    )
    assert figures.rto_text == text
