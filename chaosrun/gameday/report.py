"""The report after a game day: Markdown and one self-contained HTML file, from the session's
timeline and each scenario's run (journal and timeline).

Per scenario: the measured RTO against its target, the time people took to detect and to
mitigate beside the measured time to detect (all from the moment the fault took effect), the
SLI chart, the observations and the follow-up actions with their owners; then sign-off fields.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaosrun.errors import InputError
from chaosrun.gameday.plan import Plan, Scenario, load_plan
from chaosrun.gameday.timeline import TIMELINE_FILE, SessionState, read_events, replay
from chaosrun.report.rundata import read_run

__all__ = ["ScenarioFigures", "Session", "load_session", "session_html", "session_markdown"]


@dataclass(frozen=True, slots=True)
class ScenarioFigures:
    scenario: Scenario
    status: str  # passed | failed | aborted | error | lost | skipped | pending
    verdict: str | None
    reason: str | None
    injected_at: float | None
    rto_s: float | None
    ttd_s: float | None  # measured
    human_ttd_s: float | None  # "detected" typed, from injection
    human_ttm_s: float | None  # "mitigated" typed, from injection
    run_dir: str | None
    recovery: str | None  # the run's recovery state; None: it measured no SLO
    observations: tuple[tuple[float, str], ...]
    actions: tuple[tuple[float, str, str], ...]

    @property
    def rto_text(self) -> str:
        if self.rto_met is None:
            return "-"
        if self.rto_s is None:
            return "no SLO breach (met)" if self.rto_met else "did not recover (MISSED)"
        return f"{_s(self.rto_s)} ({_met(self.rto_met)})"

    @property
    def rto_met(self) -> bool | None:
        if self.status in ("skipped", "lost", "pending", "not run", "running", "error"):
            return None  # it did not run to an end: nothing to hold against the target
        if self.recovery is None:
            return None  # no SLO measured: no recovery time to hold against the target
        if self.rto_s is None:
            return self.recovery == "no-impact"
        return self.rto_s <= self.scenario.rto_target_s


@dataclass(frozen=True, slots=True)
class Session:
    directory: Path
    plan: Plan
    state: SessionState
    events: tuple[dict[str, Any], ...]
    scenarios: tuple[ScenarioFigures, ...]


def _injected_at(run_dir: str | None, fallback: float | None) -> float | None:
    if run_dir:
        run = read_run(Path(run_dir))
        if run is not None:
            recovery = run.chaosrun.get("recovery") or {}
            if isinstance(recovery.get("t_inject"), int | float):
                return float(recovery["t_inject"])
            windows = run.chaosrun.get("fault_windows") or []
            if windows:
                return float(min(w["injected_at"] for w in windows))
    return fallback


def _since(moment: float | None, origin: float | None) -> float | None:
    if moment is None or origin is None:
        return None
    return round(moment - origin, 3)


def load_session(directory: Path) -> Session:
    events = read_events(directory / TIMELINE_FILE)
    started = next((e for e in events if e["event"] == "session-started"), None)
    if started is None:
        raise InputError(str(directory), "", None, "not a game-day session (no timeline)")
    plan = load_plan(started["plan"])
    state = replay(events, [s.name for s in plan.scenarios])
    figures = []
    for scenario in plan.scenarios:
        found = state.scenarios[scenario.name]
        ended = dict(found.ended or {})
        run_dir = ended.get("run_dir") or found.run_dir
        injected = _injected_at(run_dir, found.started_at)
        status = str(ended.get("state") or found.status)
        if status == "briefed":
            status = "not run"
        figures.append(
            ScenarioFigures(
                scenario=scenario,
                status=status,
                verdict=ended.get("verdict"),
                reason=ended.get("reason"),
                injected_at=injected,
                rto_s=ended.get("rto_s"),
                ttd_s=ended.get("ttd_s"),
                human_ttd_s=_since(found.detected, injected),
                human_ttm_s=_since(found.mitigated, injected),
                run_dir=run_dir,
                recovery=ended.get("recovery"),
                observations=tuple(found.observations),
                actions=tuple(found.actions),
            )
        )
    return Session(directory, plan, state, tuple(events), tuple(figures))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _met(value: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "-"}[value]


def _event_text(event: dict[str, Any]) -> str:
    skip = {"t", "event", "checks", "plan"}
    details = ", ".join(f"{k}: {v}" for k, v in event.items() if k not in skip and v is not None)
    return f"{event['event']}" + (f" ({details})" if details else "")


def session_markdown(session: Session) -> str:
    plan, state = session.plan, session.state
    lines = [
        f"# {plan.title}",
        "",
        f"{plan.date} — facilitator {plan.facilitator} — session {state.state}"
        + (" (rehearsal)" if state.rehearsal else ""),
        "",
        *(
            f"- {role.replace('_', ' ')}: {', '.join(people)}"
            for role, people in plan.roles.items()
        ),
        "",
        "## Objectives",
        "",
        *(f"- {o}" for o in plan.objectives),
        "",
        "## Scenarios",
        "",
        "| scenario | result | RTO | target | detected by people | measured TTD | mitigated |",
        "|:--|:--|--:|--:|--:|--:|--:|",
    ]
    for f in session.scenarios:
        lines.append(
            f"| {f.scenario.name} | {f.status} | {f.rto_text} | "
            f"{f.scenario.rto_target_s:g} s | {_s(f.human_ttd_s)} | {_s(f.ttd_s)} | "
            f"{_s(f.human_ttm_s)} |"
        )
    for f in session.scenarios:
        lines += [
            "",
            f"### {f.scenario.name}: {f.scenario.title}",
            "",
            f"Hypothesis: {f.scenario.hypothesis}",
        ]
        if f.reason:
            lines += ["", f"Result: {f.status} — {f.reason}"]
        if f.observations:
            lines += ["", "Observations:", ""]
            lines += [f"- {_clock(t)} {text}" for t, text in f.observations]
    actions = [(f.scenario.name, a) for f in session.scenarios for a in f.actions]
    lines += ["", "## Follow-up actions", ""]
    if actions:
        lines += ["| owner | action | scenario |", "|:--|:--|:--|"]
        lines += [
            f"| {_cell(owner)} | {_cell(text)} | {name} |" for name, (_, owner, text) in actions
        ]
    else:
        lines.append("None recorded.")
    lines += ["", "## Timeline", ""]
    lines += [f"- {_clock(float(e['t']))} {_event_text(e)}" for e in session.events]
    lines += [
        "",
        "## Sign-off",
        "",
        f"- Facilitator ({plan.facilitator}): ____________________  date: __________",
        *(
            f"- {role.replace('_', ' ').capitalize()} ({', '.join(people)}): "
            "____________________  date: __________"
            for role, people in plan.roles.items()
            if role != "observers"
        ),
    ]
    return "\n".join(lines) + "\n"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _chart(figures: ScenarioFigures, number: int) -> str:
    from chaosrun.report.charts import run_timeline_figure

    run = read_run(Path(figures.run_dir)) if figures.run_dir else None
    figure = run_timeline_figure(run, "SLIs over time") if run else None
    if figure is None:
        return "<p class=muted>No SLI timeline for this scenario.</p>"
    for at, text, colour in (
        (figures.human_ttd_s, "people detected", "#6a1b9a"),
        (figures.human_ttm_s, "people mitigated", "#1565c0"),
    ):
        if at is not None:
            figure.add_vline(x=at, line={"color": colour, "dash": "dot"}, row=1, col=1)
            figure.add_annotation(
                x=at, y=0.5, xref="x", yref="paper", text=text, showarrow=False,
                font={"size": 10, "color": colour}, xanchor="left",
            )  # fmt: skip
    return str(figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"sli-{number}"))


def session_html(session: Session) -> str:
    from plotly.offline import get_plotlyjs

    markdown_sections = []
    for number, f in enumerate(session.scenarios, 1):
        observations = "".join(f"<li>{_clock(t)} {_e(text)}</li>" for t, text in f.observations)
        markdown_sections.append(
            f"<section><h2>{number}. {_e(f.scenario.name)}: {_e(f.scenario.title)}</h2>"
            f"<p><b>Hypothesis:</b> {_e(f.scenario.hypothesis)}</p>"
            f"<table><tr><th>result</th><th>RTO</th><th>target</th><th>people detected</th>"
            f"<th>measured TTD</th><th>people mitigated</th></tr>"
            f"<tr><td class='state {_e(f.status)}'>{_e(f.status)}</td>"
            f"<td>{_e(f.rto_text)}</td><td>{f.scenario.rto_target_s:g} s</td>"
            f"<td>{_s(f.human_ttd_s)}</td><td>{_s(f.ttd_s)}</td><td>{_s(f.human_ttm_s)}</td></tr>"
            "</table>"
            + (f"<p>{_e(f.reason)}</p>" if f.reason else "")
            + _chart(f, number)
            + (f"<h3>Observations</h3><ul>{observations}</ul>" if observations else "")
            + "</section>"
        )
    actions = [(f.scenario.name, a) for f in session.scenarios for a in f.actions]
    action_rows = (
        "".join(
            f"<tr><td>{_e(owner)}</td><td>{_e(text)}</td><td>{_e(name)}</td></tr>"
            for name, (_, owner, text) in actions
        )
        or "<tr><td colspan=3>None recorded.</td></tr>"
    )
    timeline = "".join(
        f"<tr><td>{_clock(float(e['t']))}</td><td>{_e(_event_text(e))}</td></tr>"
        for e in session.events
    )
    plan = session.plan
    signers = [("Facilitator", plan.facilitator)] + [
        (role.replace("_", " ").capitalize(), ", ".join(people))
        for role, people in plan.roles.items()
        if role != "observers"
    ]
    sign = "".join(
        f"<tr><td>{_e(role)}</td><td>{_e(name)}</td><td class=sign></td><td class=sign></td></tr>"
        for role, name in signers
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(plan.title)}</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px}}
table{{border-collapse:collapse;width:100%;margin:8px 0}} th,td{{text-align:left;padding:4px 8px;
border-bottom:1px solid #eee}} .passed{{color:#2e7d32}} .failed,.error,.lost{{color:#c62828}}
.aborted,.skipped{{color:#ef6c00}} .muted{{color:#616161}} td.sign{{width:25%}}</style>
<script>window.addEventListener('error',function(e){{document.documentElement.setAttribute(
'data-errors','1')}});</script>
<script>{get_plotlyjs()}</script></head><body>
<h1>{_e(plan.title)}</h1>
<p>{_e(plan.date)} - facilitator {_e(plan.facilitator)} - session {_e(session.state.state)}
{"(rehearsal)" if session.state.rehearsal else ""}</p>
<h2>Objectives</h2><ul>{"".join(f"<li>{_e(o)}</li>" for o in plan.objectives)}</ul>
{"".join(markdown_sections)}
<h2>Follow-up actions</h2><table><tr><th>owner</th><th>action</th><th>scenario</th></tr>
{action_rows}</table>
<h2>Timeline</h2><table>{timeline}</table>
<h2>Sign-off</h2><table><tr><th>role</th><th>name</th><th>signature</th><th>date</th></tr>
{sign}</table>
</body></html>
"""
