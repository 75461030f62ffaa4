"""The dry-run plan shown: text lines for a person, JSON-ready data for a machine. Pure.

The plan itself comes from `chaosrun.engine.plan`. Secrets are masked by the caller
(`chaosrun.cli` applies `chaosrun.engine.redact.Redactor` to what `plan_lines` and `plan_data`
return), before `plan_text` wraps the lines for the screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from chaosrun.engine.plan import Plan, ProxyView, StepPlan, TargetKind
from chaosrun.engine.reach import System
from chaosrun.report.wrap import wrap_line

__all__ = ["TOUCHED", "plan_data", "plan_lines", "plan_text"]

_ROLLBACK_WHEN = {
    "always": "always run",
    "never": "never run: --rollback-strategy or runtime says never",
    "deviated": "run only if the hypothesis deviated",
    "default": "Chaos Toolkit's default: not after an interruption or a failed hypothesis",
}
TOUCHED = "nothing: no process, run directory, lock or journal; no change anywhere"


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data, with every fault also listed flat, in the order of the run."""
    faults = [
        {"phase": step.phase, "activity": step.name, **asdict(step.fault)}
        for step in (*plan.method, *plan.rollbacks)
        if step.fault is not None
    ]
    return {**asdict(plan), "dry_run": True, "touched": TOUCHED, "faults": faults}


def plan_lines(plan: Plan) -> list[str]:
    """The plan as plain text lines, for a person."""
    target = plan.target
    lines = [
        f"dry run of {plan.file}: {plan.title}",
        f"touched: {TOUCHED}",
    ]
    if plan.needs_target:
        lines += [
            f"target: {target.note}",
            f"  service     {target.service_url or 'http://127.0.0.1:<port chosen at start>'}",
        ]
        if target.kind != "kubernetes":
            toxiproxy = target.toxiproxy_url or "http://127.0.0.1:<port chosen at start>"
            lines.append(f"  toxiproxy   {toxiproxy}")
        for p in target.proxies:
            where = f"{_addr(p.listen)} -> {_addr(p.upstream)}{_state(p)}"
            lines.append(f"  proxy {p.name:<16} {where}")
        if target.kind == "url":
            lines.append("  proxies     unknown (the Toxiproxy API is not contacted by a dry run)")
    else:
        lines.append(
            "target: none (no chaosrun block, faults or probes): runs as 'chaos run' would, "
            "under the supervisor; no lab is started"
        )
    lines += _systems_lines(plan.systems)
    lines.append(
        f"deadline: {plan.deadline_s:g} s (then the worker is stopped, every fault reverted; "
        "exit 4)"
    )
    lines.append(_load_line(plan.load))
    lines.append("safeguards: " + ("none declared" if not plan.safeguards else ""))
    lines += [f"  {guard}" for guard in plan.safeguards]
    sections = (
        ("steady-state hypothesis (before and after the method)", plan.steady_state),
        ("method", plan.method),
        (
            f"rollbacks ({_ROLLBACK_WHEN.get(plan.rollback_strategy, plan.rollback_strategy)})",
            plan.rollbacks,
        ),
    )
    for title, steps in sections:
        lines.append(f"{title}:" if steps else f"{title}: none")
        for i, step in enumerate(steps, 1):
            lines += _step_lines(i, step, target.kind)
    lines += [f"warning: {warning}" for warning in plan.warnings]
    return lines


def _systems_lines(systems: Sequence[System]) -> list[str]:
    """What a run would contact, one line per system, with the steps that address it."""
    if not systems:
        return ["a run would contact: nothing outside chaosrun"]
    grouped: dict[tuple[str, str], list[System]] = {}
    for system in systems:
        grouped.setdefault((system.kind, system.address), []).append(system)
    lines = ["a run would contact:"]
    for (kind, address), found in grouped.items():
        via = ", ".join(
            dict.fromkeys(f"{s.via} (line {s.line})" if s.line else s.via for s in found)
        )
        note = next((s.note for s in found if s.note), "")
        lines.append(f"  {kind:<10} {address}  [{via}]" + (f"; {note}" if note else ""))
    return lines


def plan_text(lines: Sequence[str], width: int) -> str:
    """The plan's lines for a screen: each wrapped at words to `width` cells, continuing under
    its own text (after `1. `, a column, or `where: `). Wrap after masking secrets: a secret
    split over two lines would no longer be found."""
    return "\n".join(out for line in lines for out in wrap_line(line, width))


def _addr(address: str | None) -> str:
    return address or "127.0.0.1:<port chosen at start>"


def _state(proxy: ProxyView) -> str:
    if proxy.enabled is None:
        return ""
    toxics = ", ".join(proxy.toxics) if proxy.toxics else "no toxics"
    return f" ({'enabled' if proxy.enabled else 'DISABLED'}, {toxics})"


def _load_line(load: Mapping[str, Any] | None) -> str:
    if load is None:
        return "load: none"
    total = sum(load["endpoints"].values()) or 1.0
    shares = ", ".join(f"{p} {w / total:.0%}" for p, w in load["endpoints"].items())
    return (
        f"load: open loop, {load['rate']:g} req/s over {shares}; warmup {load['warmup_s']:g} s "
        f"+ the experiment (at most the deadline) + cooldown {load['cooldown_s']:g} s: at most "
        f"{load['max_duration_s']:g} s, {load['max_requests']} requests"
    )


def _step_lines(index: int, step: StepPlan, kind: TargetKind) -> list[str]:
    how = " (ref)" if step.ref else ""
    how += " (in the background)" if step.background else ""
    if step.fault is None:
        line = f"  {index}. would run {step.type} {step.name}{how} ({step.provider})"
        lines = [line]
    else:
        fault = step.fault
        if fault.proxy:
            where = (
                f"Toxiproxy {fault.toxiproxy_url or 'API of the ephemeral lab'}, proxy "
                f"{fault.proxy} listens on {_where(fault.listen, kind)}, upstream "
                f"{_where(fault.upstream, kind)}"
            )
        elif fault.kind == "region_outage":
            where = "the region's own Toxiproxy server: every proxy it holds (or those named)"
        elif fault.kind.startswith("k8s_") or fault.kind == "revert":
            where = "the Kubernetes API server"
        else:
            where = "this host: the service under test's process, or the path named"
        kind_word = "" if fault.kind == "revert" else f" {fault.kind}"
        lines = [
            f"  {index}. {step.name}{how}: {fault.action}{kind_word}: {fault.effect}",
            f"       where: {where}",
            f"       request: {fault.request}",
        ]
    pauses = [
        f"{label} {value}{'' if isinstance(value, str) else ' s'}"
        for label, value in (("before", step.pause_before_s), ("after", step.pause_after_s))
        if value is not None
    ]
    if pauses:
        lines.append(f"       pauses: {', '.join(pauses)}")
    return lines


def _where(address: str | None, kind: TargetKind) -> str:
    if address is not None:
        return address
    return "unknown (not contacted)" if kind == "url" else _addr(None)
