"""Rich console output: live phases, activities and hypothesis probes, then the verdict.

Laid out for an 80-column terminal: one item per line with a hanging indent (a two-column grid:
a fixed marker column and a text column rich wraps at words), names never shortened, and a
reason shared by several verdicts printed once under all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.text import Text

from chaosrun.checks.outcome import activity_error, probe_miss, tolerance_text
from chaosrun.report.summary import brief_output
from chaosrun.report.wrap import wrap_line

__all__ = ["LiveConsole", "render_verdict"]

_PHASES = {
    "hypothesis-before": "Steady-state hypothesis (before)",
    "method": "Method",
    "hypothesis-after": "Steady-state hypothesis (after)",
    "rollbacks": "Rollbacks",
}
_UNDO_WHAT = {"enable_proxy": "disabled proxy", "end_failure": "failure window"}
_VERDICT_STYLE = {
    "passed": "bold green",
    "deviated": "bold red",
    "failed": "bold red",
    "not-steady": "bold red",
    "inconclusive": "bold yellow",
    "not-judged": "bold yellow",
    "interrupted": "bold yellow",
    "aborted": "bold yellow",
}
_OK = "[green]✓[/]"
_BAD = "[red]✗[/]"
_INFO = "[dim]·[/]"


def _fmt_output(output: Any) -> str:
    if isinstance(output, dict):
        return " ".join(f"{k}={v}" for k, v in output.items())
    return "" if output is None else str(output)


def _rows(console: Console, rows: Sequence[tuple[str, str]], indent: int = 2) -> None:
    """Each row: a marker, then its text wrapped at words under itself (a hanging indent).

    Lines stop one column short of the edge, and carry no padding: a log reads the same.
    """
    width = max(console.width - 1, 20)
    markers = [Text.from_markup(" " * indent + marker) for marker, _ in rows]
    hang = max((m.cell_len for m in markers), default=0) + 1
    for marker, (_, text) in zip(markers, rows, strict=True):
        body = Text.from_markup(text)
        lines = body.wrap(console, max(width - hang, 10), overflow="fold")
        for i, line in enumerate(lines):
            lead = marker.copy() if i == 0 else Text("")
            lead.pad_right(hang - lead.cell_len)
            line.rstrip()
            console.print(Text.assemble(lead, line), soft_wrap=True)


class LiveConsole:
    """Turns supervisor/worker events into console lines as they happen.

    Hypothesis probes are shown when their hypothesis completes, because only then does Chaos
    Toolkit know whether each met its tolerance; a method probe without a tolerance reports a
    value and is shown as information (·), never as a passed check.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._phase = ""

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "target" and event.get("phase") == "ready":
            target = event["target"]
            lab = target.get("lab")
            where = (
                f"lab ({lab['variant']}{', ephemeral' if lab['ephemeral'] else ''})"
                if lab
                else "explicit target"
            )
            text = f"{where}  service {target['service_url']}  toxiproxy {target['toxiproxy_url']}"
            _rows(self.console, [("[dim]target:[/]", _escape(text))], indent=0)
        elif kind == "target" and event.get("phase") == "none":
            self.console.print(
                "[dim]target:[/] none (a plain Chaos Toolkit experiment: no lab started)"
            )
        elif kind in _PHASES:
            self._phase = str(kind)
            self.console.print(f"[bold cyan]▶ {_PHASES[str(kind)]}[/]")
        elif kind in ("hypothesis-before-completed", "hypothesis-after-completed"):
            self._hypothesis(event.get("state"))
        elif kind == "activity":
            if not self._phase.startswith("hypothesis"):
                self._activity(event["run"])
        elif kind == "load" and event.get("phase") == "started":
            self.console.print(
                f"[dim]load:[/] open loop, {event['rate']:g} req/s over "
                f"{', '.join(event['endpoints'])} (warming up)"
            )
        elif kind == "sli":
            self._sli(event)
        elif kind == "load" and event.get("phase") == "cooldown":
            self.console.print(f"[dim]load: cooldown {event['seconds']:g} s (recovery)[/]")
        elif kind == "interrupt":
            self.console.print(f"[yellow]! {event['signal']}: interrupting, reverting faults…[/]")
        elif kind == "safeguard":
            self.console.print(
                f"[bold red]! stop: {event['observed']}[/]"
                if event["kind"] in ("toxiproxy", "target", "load")
                else f"[bold red]! stop condition '{event['safeguard']}' fired:[/] "
                f"{event['observed']}"
            )
            self.console.print("[yellow]  reverting every fault now, then stopping the run…[/]")
        elif kind == "deadline":
            self.console.print(f"[yellow]! deadline of {event['deadline_s']} s exceeded[/]")
        elif kind == "undo":
            for outcome in event["outcomes"]:
                if outcome["reverted_by_supervisor"]:
                    what = outcome["toxic"] or _UNDO_WHAT.get(outcome["op"], outcome["op"])
                    self.console.print(
                        f"[yellow]↺ reverted leftover {what} on {outcome['proxy']}[/]"
                    )
                elif outcome["error"]:
                    self.console.print(f"[red]✗ could not revert: {outcome['error']}[/]")

    def _sli(self, event: dict[str, Any]) -> None:
        availability = event.get("availability")
        p99 = event.get("p99_ms")
        avail = "-" if availability is None else f"{availability * 100:.1f}%"
        latency = "-" if p99 is None else f"{p99:.0f} ms"
        self.console.print(
            f"[dim]  sli +{event['at_s']:.1f}s: {event['requests']} req, ok {avail}, "
            f"p99 {latency}, degraded {event['degraded']}[/]"
        )

    def _hypothesis(self, state: Any) -> None:
        if not isinstance(state, dict):
            return
        rows = [_probe_row(run) for run in state.get("probes") or [] if isinstance(run, dict)]
        if rows:
            _rows(self.console, rows)

    def _activity(self, run: dict[str, Any]) -> None:
        activity = run.get("activity") or {}
        status = run.get("status")
        duration = float(run.get("duration") or 0.0)
        detail = _fmt_output(brief_output(run.get("output")))
        if run.get("exception"):
            mark, detail = _BAD, str(activity_error(run["exception"]))
        elif status != "succeeded":
            mark = _BAD
        elif activity.get("type") == "probe" and "tolerance" not in activity:
            mark = _INFO  # reports a value, checks nothing
        else:
            mark = _OK
        text = f"{activity.get('type', '')} [bold]{activity.get('name')}[/] [dim]{duration:.2f}s[/]"
        _rows(self.console, [(mark, f"{text} {_escape(detail)}".rstrip())])


def _probe_row(run: dict[str, Any]) -> tuple[str, str]:
    activity = run.get("activity") or {}
    name = f"[bold]{_escape(str(activity.get('name')))}[/]"
    if run.get("exception") or run.get("status") != "succeeded":
        error = activity_error(run.get("exception")) or "no error recorded"
        return _BAD, f"{name} raised: {_escape(error)}"
    if run.get("tolerance_met") is False:
        miss = probe_miss(run).split(" gave ", 1)[-1]
        return _BAD, f"{name} gave {_escape(miss)}"
    seen = _fmt_output(brief_output(run.get("output")))
    tolerance = tolerance_text(activity.get("tolerance"))
    return _OK, f"{name} {_escape(seen)} [dim](tolerance: {_escape(tolerance)})[/]"


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def render_verdict(console: Console, summary: dict[str, Any]) -> None:
    console.print()
    _render_failures(console, summary)
    _render_restore(console, summary.get("restore"))
    _render_measurement(console, summary)
    _render_faults(console, summary)
    verdict = summary["verdict"]
    style = _VERDICT_STYLE.get(verdict, "bold")
    console.print(f"[{style}]Verdict: {verdict.upper()}[/] (exit {summary['exit_code']})")
    if summary.get("reason"):
        _rows(console, [("", _escape(str(summary["reason"])))], indent=1)
    for line in wrap_line(f"journal: {summary['journal']}", max(console.width - 1, 20), hang=2):
        console.print(Text(line, style="dim"), soft_wrap=True)


def _render_failures(console: Console, summary: dict[str, Any]) -> None:
    """Only what went wrong in the Chaos Toolkit phases; the live lines showed the rest."""
    rows: list[tuple[str, str]] = []
    for probe in summary["probes"]:
        if probe["status"] != "succeeded":
            rows.append(
                (
                    _BAD,
                    f"hypothesis {probe['phase']}: {probe['name']} raised: "
                    f"{_escape(str(probe['error']))}",
                )
            )
        elif probe["tolerance_met"] is False:
            rows.append((_BAD, f"hypothesis {probe['phase']}: {_escape(str(probe['miss']))}"))
    for activity in summary["activities"]:
        if activity["status"] not in ("succeeded", "skipped"):
            rows.append(
                (
                    _BAD,
                    f"{activity['phase']}: {activity['type']} {activity['name']} "
                    f"{activity['status']}: {_escape(str(activity['error']))}",
                )
            )
    if summary["leftovers_reverted"]:
        rows.append(
            (
                "[yellow]↺[/]",
                f"the supervisor reverted {summary['leftovers_reverted']} leftover fault(s)",
            )
        )
    if rows:
        console.print("[bold]What went wrong[/]")
        _rows(console, rows)


def _render_restore(console: Console, restore: dict[str, Any] | None) -> None:
    if not restore:
        return
    early = restore.get("early")
    if early:
        console.print(
            f"Stopped: {early['reverted']} fault(s) reverted "
            f"{early['fired_to_reverted_s'] * 1000:.0f} ms after the stop condition fired"
        )
    for fallback in {restore.get("fallback"), (early or {}).get("fallback")} - {None}:
        console.print(f"[yellow]Toxiproxy did not answer: restored by {fallback}[/]")
    if restore.get("unreverted"):
        console.print(f"[bold red]{restore['advice']}[/]")


def _s(value: Any) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _render_measurement(console: Console, summary: dict[str, Any]) -> None:
    rows: list[tuple[str, str]] = []
    load = summary.get("load")
    if load:
        flag = " [bold yellow](short: figures not trusted)[/]" if load.get("short") else ""
        rows.append(
            (
                "[bold]Load[/]",
                f"{load.get('target_rate')} req/s open loop, achieved "
                f"{load.get('achieved_rate')} req/s; scheduler lag p99 "
                f"{load.get('p99_lag_ms')} ms, max {load.get('max_lag_ms')} ms{flag}",
            )
        )
    recovery = summary.get("recovery")
    if recovery:
        rows.append(("[bold]Recovery[/]", _recovery_text(recovery)))
    for writes in summary.get("writes") or []:
        rows.append(("[bold]Writes[/]", _writes_text(writes)))
    for note in summary.get("measurement_notes") or []:
        rows.append(("[yellow]![/]", f"[yellow]{_escape(str(note))}[/]"))
    if rows:
        _rows(console, rows, indent=0)
    _render_checks(console, summary.get("checks") or [])


def _writes_text(writes: dict[str, Any]) -> str:
    """One writes expectation's figures: write RTO, acknowledged, lost (every lost id)."""
    rto = writes.get("rto_s")
    parts = [f"{_escape(str(writes.get('endpoint')))}:"]
    if writes.get("writes_during_fault") is not None:
        shown = "not acknowledged again" if rto is None else f"write RTO {_s(rto)}"
        parts.append(
            f"{shown} ({writes.get('unacknowledged_during_fault')} of "
            f"{writes.get('writes_during_fault')} unacknowledged during the fault);"
        )
    lost = writes.get("lost")
    if lost is None:
        problem = writes.get("read_problem") or "not read back"
        parts.append(f"{writes.get('acknowledged')} acknowledged, lost not known ({problem})")
    else:
        parts.append(f"{writes.get('acknowledged')} acknowledged, {len(lost)} lost")
        if lost:
            parts.append("[red]" + _escape(", ".join(str(i) for i in lost)) + "[/]")
    return " ".join(parts)


def _recovery_text(recovery: dict[str, Any]) -> str:
    state = recovery["state"]
    if state == "recovered":
        head = (
            f"recovered: detected {_rel(recovery['ttd_s'])}, recovered "
            f"{_rel(recovery['rto_s'])} (RTO), {_s(recovery['recovery_after_clear_s'])} "
            "after the fault cleared"
        )
    elif state == "not-recovered":
        head = f"not recovered: detected {_rel(recovery['ttd_s'])}, still breached at the end"
    elif state == "no-impact":
        head = "no impact: the SLO held through the fault"
    else:
        head = "no data: too little traffic to judge the SLO after injection"
    burned = recovery.get("error_budget_burned")
    budget = "-" if burned is None else f"{burned * 100:.1f}%"
    impact = "" if recovery.get("impact_s") is None else f"impact {_s(recovery['impact_s'])}; "
    return (
        f"{head}; {impact}{recovery['failed_requests']}/{recovery['requests']} requests "
        f"failed, {recovery.get('degraded_requests') or 0} degraded; error budget burned "
        f"{budget} [dim](resolution {recovery['resolution_s'] * 1000:.1f} ms)[/]"
    )


def _rel(value: Any) -> str:
    return "-" if value is None else f"+{value:.3f} s"


def _render_checks(console: Console, checks: Sequence[dict[str, Any]]) -> None:
    """Verdicts one per line; consecutive verdicts that share an outcome and an observation
    print the observation once, under all of them."""
    if not checks:
        return
    console.print("[bold]Resilience verdicts[/]")
    rows: list[tuple[str, str]] = []
    said = None
    for (status, observed), group in groupby(checks, key=lambda c: (_status(c), c["observed"])):
        members = list(group)
        mark = _CHECK_MARK[status]
        for check in members:
            rows.append((mark, f"[bold]{check['check']}[/]: expected {_escape(check['expected'])}"))
            mark = "    "
        rows.append(("    ", f"[dim]observed:[/] {_escape(str(observed))}"))
        for account in dict.fromkeys(c["account"] for c in members if c.get("account")):
            if account != said:  # a check's account is shown once, not under each verdict
                rows.append(("    ", f"[dim]service says:[/] {_escape(str(account))}"))
                said = account
    _rows(console, rows)


_CHECK_MARK = {
    "passed": "[green]PASS[/]",
    "failed": "[red]FAIL[/]",
    "not-judged": "[yellow]N/J [/]",
}


def _status(check: dict[str, Any]) -> str:
    status = check.get("status")
    return status if status in _CHECK_MARK else ("passed" if check.get("passed") else "failed")


def _render_faults(console: Console, summary: dict[str, Any]) -> None:
    faults = summary.get("faults")
    if not isinstance(faults, dict):
        return
    left = faults.get("left")
    if left is None:
        text = f"{faults['injected']} injected; [yellow]Toxiproxy did not answer the final check[/]"
    elif left == 0:
        places = ["Toxiproxy"]
        places += ["the Kubernetes API server"] if faults.get("on_cluster") else []
        places += ["this host"] if faults.get("on_host") else []
        where = ", ".join(places[:-1]) + " and " + places[-1] if len(places) > 1 else places[0]
        text = f"{faults['injected']} injected, [green]0 faults left[/] (checked on {where})"
    else:
        text = f"[bold red]{left} left[/]: {_escape(', '.join(faults['where']))}"
    _rows(console, [("[bold]Faults[/]", text)], indent=0)
