"""Rich console output: live phases and activities, then a verdict table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from chaosrun.report.summary import brief_output

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
    "interrupted": "bold yellow",
    "aborted": "bold yellow",
}


def _fmt_output(output: Any) -> str:
    if isinstance(output, dict):
        return " ".join(f"{k}={v}" for k, v in output.items())
    return "" if output is None else str(output)


class LiveConsole:
    """Turns supervisor/worker events into console lines as they happen."""

    def __init__(self, console: Console) -> None:
        self.console = console

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
            self.console.print(
                f"[dim]target:[/] {where}  service {target['service_url']}  "
                f"toxiproxy {target['toxiproxy_url']}"
            )
        elif kind in _PHASES:
            self.console.print(f"[bold cyan]▶ {_PHASES[kind]}[/]")
        elif kind == "activity":
            self._activity(event["run"])
        elif kind == "load" and event.get("phase") == "started":
            self.console.print(
                f"[dim]load:[/] open loop, {event['rate']:g} req/s over "
                f"{', '.join(event['endpoints'])} (warming up)"
            )
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

    def _activity(self, run: dict[str, Any]) -> None:
        activity = run.get("activity") or {}
        status = run.get("status")
        met = run.get("tolerance_met")
        ok = status == "succeeded" and met is not False
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        detail = _fmt_output(brief_output(run.get("output")))
        if run.get("exception"):
            detail = str(run["exception"][-1]).strip()
        elif met is False:
            detail = f"tolerance not met: {detail}"
        duration = float(run.get("duration") or 0.0)
        self.console.print(
            f"  {mark} {activity.get('type', '')} [bold]{activity.get('name')}[/] "
            f"[dim]{duration:.2f}s[/] {detail}",
            highlight=False,
        )


def render_verdict(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=summary.get("title") or "chaosrun", show_lines=False)
    table.add_column("phase")
    table.add_column("check")
    table.add_column("result")
    table.add_column("observed", overflow="fold")
    for probe in summary["probes"]:
        met = probe["tolerance_met"]
        result = "[green]met[/]" if met else "[red]not met[/]"
        observed = probe["error"] or _fmt_output(probe["output"])
        table.add_row(f"hypothesis {probe['phase']}", str(probe["name"]), result, observed)
    for activity in summary["activities"]:
        ok = activity["status"] == "succeeded"
        result = "[green]ok[/]" if ok else f"[red]{activity['status']}[/]"
        observed = activity["error"] or _fmt_output(activity["output"])
        table.add_row(activity["phase"], f"{activity['type']} {activity['name']}", result, observed)
    if summary["leftovers_reverted"]:
        table.add_row(
            "supervisor", "leftover faults reverted", str(summary["leftovers_reverted"]), ""
        )
    console.print(table)
    _render_restore(console, summary.get("restore"))
    _render_measurement(console, summary)
    verdict = summary["verdict"]
    style = _VERDICT_STYLE.get(verdict, "bold")
    reason = f" — {summary['reason']}" if summary.get("reason") else ""
    console.print(f"[{style}]Verdict: {verdict.upper()}[/]{reason}  (exit {summary['exit_code']})")
    console.print(f"[dim]journal: {summary['journal']}[/]")


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
    load = summary.get("load")
    if load:
        flag = " [bold yellow](short: figures not trusted)[/]" if load.get("short") else ""
        console.print(
            f"[bold]Load[/]: target {load.get('target_rate')} req/s, achieved "
            f"{load.get('achieved_rate')} req/s, scheduler lag p99 {load.get('p99_lag_ms')} ms, "
            f"max {load.get('max_lag_ms')} ms{flag}",
            highlight=False,
        )
    recovery = summary.get("recovery")
    if recovery:
        burned = recovery.get("error_budget_burned")
        budget = "-" if burned is None else f"{burned * 100:.1f}%"
        console.print(
            f"[bold]Recovery[/]: {recovery['state']}; time to detect {_s(recovery['ttd_s'])}, "
            f"RTO {_s(recovery['rto_s'])}, after clear {_s(recovery['recovery_after_clear_s'])}, "
            f"impact {_s(recovery['impact_s'])}; {recovery['failed_requests']}/"
            f"{recovery['requests']} requests failed; error budget burned {budget} "
            f"[dim](resolution {recovery['resolution_s'] * 1000:.1f} ms)[/]",
            highlight=False,
        )
    for note in summary.get("measurement_notes") or []:
        console.print(f"[yellow]! {note}[/]")
    checks = summary.get("checks") or []
    if not checks:
        return
    table = Table(title="Resilience verdicts")
    table.add_column("check")
    table.add_column("result")
    table.add_column("expected", overflow="fold")
    table.add_column("observed", overflow="fold")
    for check in checks:
        result = "[green]PASS[/]" if check["passed"] else "[red]FAIL[/]"
        table.add_row(check["check"], result, check["expected"], check["observed"])
    console.print(table)
